# The fleet end to end (clock, maintenance, gateway as processes).
if(TARGET cronfleet-gateway AND TARGET cronfleet-maintenance)
  add_test(NAME e2e.fleet
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fleet.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(e2e.fleet PROPERTIES TIMEOUT 180)
endif()

# The fleet end to end (clock, maintenance, gateway as processes).
if(TARGET cronfleet-gateway AND TARGET cronfleet-maintenance)
  add_test(NAME e2e.fleet
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_fleet.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(e2e.fleet PROPERTIES TIMEOUT 180)
endif()

# What a newcomer sees: scripts/up --detach with the vendor simulator and
# the demo organisation, data from every sync job within a minute, the
# REST summary and the CLI, scripts/down (ports 7950-7999).
if(TARGET cronfleet-gateway AND TARGET cronfleet-ingest
   AND TARGET cronfleet-vendor-sim AND TARGET cronfleet)
  add_test(NAME e2e.up.demo
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_up_demo.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(e2e.up.demo PROPERTIES TIMEOUT 240)
endif()

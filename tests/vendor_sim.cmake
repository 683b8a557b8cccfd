# The vendor simulator through its real binary over real sockets: every
# vendor's routes with and without credentials, determinism, each fault
# mode, bad input and configuration, SIGTERM. Ports 10000-10499.
if(TARGET cronfleet-vendor-sim)
  add_test(NAME integration.vendor_sim
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_vendor_sim.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.vendor_sim PROPERTIES TIMEOUT 120)
endif()

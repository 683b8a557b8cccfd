# energy-sync through the real path: cronfleet-clock, the vendor
# simulator, cronfleet-ingest and PostgreSQL; sources added with
# source-put; every vendor's data compared with the simulator's, re-runs,
# each fault mode, secrets. Needs DATABASE_URL and REDIS_URL. Ports
# 7300-7499.
if(TARGET cronfleet-ingest AND TARGET cronfleet-vendor-sim
   AND TARGET cronfleet-clock)
  add_test(NAME integration.ingest.energy
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_energy.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.energy PROPERTIES TIMEOUT 600)
endif()

# plant-sync and carbon-sync through the real path: cronfleet-clock, the
# vendor simulator, cronfleet-ingest and PostgreSQL. Plants of Solarman
# and Sungrow accounts compared with the simulator's lists, the seed's
# summary with SQL, tokens sealed, reused and refreshed, every fault mode;
# carbon forecasts from WattTime, normalised, with Electricity Maps as the
# fallback (failure, rate limit near, not configured). Ports 7500-7599
# (plants) and 7600-7699 (carbon). Needs DATABASE_URL, REDIS_URL.
if(TARGET cronfleet-clock AND TARGET cronfleet-ingest
   AND TARGET cronfleet-vendor-sim)
  add_test(NAME integration.ingest.plants
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_plants.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.plants PROPERTIES TIMEOUT 600)
  add_test(NAME integration.ingest.carbon
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_carbon.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.carbon PROPERTIES TIMEOUT 600)
endif()

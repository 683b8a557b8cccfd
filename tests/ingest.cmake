# The ingest service's own parts (services/ingest): schema, jobs and their
# schedules, management commands with sealed credentials, run on start
# (tests/integration/test_ingest_core.sh, ports 7900-7999). The vendor
# jobs have their own fragments (ingest_energy, ingest_plants,
# ingest_shop, ingest_admin, ingest_bulk). Needs DATABASE_URL, REDIS_URL.
if(TARGET cronfleet-clock AND TARGET cronfleet-ingest)
  add_test(NAME integration.ingest.core
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_core.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.core PROPERTIES TIMEOUT 300)
endif()

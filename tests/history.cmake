# History through the whole path: the filtered, paged `history` of two
# real test services (as ingest and analytics) and of the real clock's
# ledger, merged by the real gateway; every page walk compared with SQL
# on both schemas and the clock's. Needs DATABASE_URL and REDIS_URL.
if(TARGET cronfleet-clock AND TARGET cronfleet-testsvc
   AND TARGET cronfleet-gateway)
  add_test(NAME integration.history
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_history.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.history PROPERTIES TIMEOUT 300)
endif()

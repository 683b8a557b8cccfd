# Sources, vendors, stores and agents managed through the REST API and the
# CLI (issue 6, item 5): the real gateway (routes_ingest.c), cronfleet
# (cmd_ingest.c: the kinds, apply, ingest summary) and cronfleet-ingest
# (manage.c, views.c), with the clock and the vendor simulator, on the
# real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). Ports 9500-9749.
if(TARGET cronfleet-gateway AND TARGET cronfleet-ingest
   AND TARGET cronfleet-clock AND TARGET cronfleet-vendor-sim
   AND TARGET cronfleet)
  add_test(NAME integration.ingest.admin
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_admin.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.admin PROPERTIES TIMEOUT 300)
endif()

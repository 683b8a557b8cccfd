# The CLI over the REST API (tools/cli/cmd_api.c, cmd_watch.c): the real
# cronfleet binary against the real gateway, clock and a test service on
# the real PostgreSQL (DATABASE_URL) and Redis (REDIS_URL). testsvc comes
# from service.cmake, included before this fragment.
if(TARGET cronfleet-gateway AND TARGET cronfleet-clock
   AND TARGET cronfleet-testsvc)
  add_test(NAME cli.api
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_api_cli.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(cli.api PROPERTIES TIMEOUT 300 LABELS integration)
endif()

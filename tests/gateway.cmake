# Tests of the gateway (services/gateway): the real binary, started as a
# child of the test, against fake services on real NNG sockets.
find_package(CURL REQUIRED)

cf_unit_test(integration.gateway integration/test_gateway.c
             cf_nng cfproto cjson CURL::libcurl Threads::Threads)
set_tests_properties(integration.gateway PROPERTIES TIMEOUT 120
    ENVIRONMENT
    "CMOCKA_MESSAGE_OUTPUT=stdout;CF_GATEWAY_BIN=$<TARGET_FILE:cronfleet-gateway>")

add_test(NAME integration.gateway.config
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_gateway_config.sh
                 $<TARGET_FILE:cronfleet-gateway>)
set_tests_properties(integration.gateway.config PROPERTIES TIMEOUT 60)

# The same run with the gateway under valgrind: any memory error or
# definite leak makes it exit 99, which fails the SIGTERM case. Skipped
# in sanitizer builds (the two do not mix).
find_program(CF_VALGRIND valgrind)
if(CF_VALGRIND AND NOT SANITIZE)
  add_test(NAME integration.gateway.valgrind COMMAND test_integration_gateway)
  set_tests_properties(integration.gateway.valgrind PROPERTIES TIMEOUT 300
      LABELS valgrind
      ENVIRONMENT
      "CMOCKA_MESSAGE_OUTPUT=stdout;CF_GATEWAY_BIN=$<TARGET_FILE:cronfleet-gateway>;CF_GATEWAY_WRAP=${CF_VALGRIND} -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect")
endif()

# Roles, audit, PUT schedule, the seeds' admin and cron endpoints and bad
# input through the real clock, a real service and the real gateway.
if(TARGET cronfleet-clock)
  add_test(NAME integration.gateway.roles
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_gateway_roles.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.gateway.roles PROPERTIES TIMEOUT 300)
endif()

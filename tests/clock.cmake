# The clock service, end to end against PostgreSQL (DATABASE_URL from
# scripts/test), through nngcat and psql.
add_test(NAME integration.clock
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_clock.sh
                 $<TARGET_FILE:cronfleet-clock>)
set_tests_properties(integration.clock PROPERTIES TIMEOUT 120)

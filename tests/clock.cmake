# The clock service, end to end against PostgreSQL (DATABASE_URL from
# scripts/test), through nngcat and psql.
add_test(NAME integration.clock
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_clock.sh
                 $<TARGET_FILE:cronfleet-clock>)
set_tests_properties(integration.clock PROPERTIES TIMEOUT 120)

# Leadership: two clocks, the shared PostgreSQL and a Redis of the test's
# own (stopped and restarted); kill -9, Redis outage, SIGTERM. Ports from
# 1100-1999.
add_test(NAME integration.clock.lease
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_clock_lease.sh
                 $<TARGET_FILE:cronfleet-clock>)
set_tests_properties(integration.clock.lease PROPERTIES TIMEOUT 180)

# The misfire decision, option parsing and cycle detection (pure).
cf_unit_test(unit.clock.catchup unit/test_clock_catchup.c clock_core)
target_sources(test_unit_clock_catchup PRIVATE
               ${PROJECT_SOURCE_DIR}/services/clock/ledger.c)

# The guarantees on the clock's side, end to end (nng ports 2000-2999):
# backlog per misfire policy after a restart, pause/stop skips, fires
# paging, chain, cycles, a DST gap under the skip policy.
add_test(NAME integration.clock.catchup
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_clock_catchup.sh
                 $<TARGET_FILE:cronfleet-clock>)
set_tests_properties(integration.clock.catchup PROPERTIES TIMEOUT 300)

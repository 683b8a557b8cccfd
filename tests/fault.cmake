# Faults: the guarantees of docs/guarantees.md while processes are killed
# and PostgreSQL / Redis go away. Both tests start their own PostgreSQL and
# Redis (they stop them). Ports (PostgreSQL, Redis, nng) below Linux's
# ephemeral range, since clocks and PostgreSQL bind theirs again after each
# restart: fault.suite 32500-32659, integration.outage 32660-32767. They
# need the clock and the test service (tests/support/testsvc.c).
#
# fault.suite: two clocks, two testsvc replicas, >= 50 service kills,
# leader kills, a PostgreSQL and a Redis restart over ~35 virtual days
# (~150 s of faults); FAULT_SEED replays the fault plan (tests/fault/).
add_test(NAME fault.suite
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/fault/fault_suite.sh
                 ${CMAKE_BINARY_DIR}/bin)
# The longest test: a high COST makes ctest -j start it first, so the
# rest of the suite runs beside it instead of after it.
set_tests_properties(fault.suite PROPERTIES LABELS fault TIMEOUT 600
                     COST 10000)

# integration.outage: PostgreSQL down for 30 s, then Redis down.
add_test(NAME integration.outage
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_outage.sh
                 ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(integration.outage PROPERTIES LABELS fault TIMEOUT 180)

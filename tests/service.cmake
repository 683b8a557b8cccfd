# The test service every runtime, clock and fault test can start.
include(${CMAKE_CURRENT_LIST_DIR}/support.cmake)

# Tests of the job runtime (lib/cf_service) through the real
# cronfleet-maintenance binary, with a fake clock, on the real PostgreSQL
# and Redis (DATABASE_URL, REDIS_URL: scripts/test starts both).
if(TARGET cronfleet-maintenance)
  cf_unit_test(integration.service.maintenance
               integration/test_service_maintenance.c cf_svc)
  target_compile_definitions(test_integration_service_maintenance PRIVATE
    CF_MAINTENANCE_BIN="$<TARGET_FILE:cronfleet-maintenance>")
  add_dependencies(test_integration_service_maintenance cronfleet-maintenance)
  set_tests_properties(integration.service.maintenance PROPERTIES
                       TIMEOUT 600)
endif()

# SIGTERM during a run: the grace period, then "interrupted".
if(TARGET cronfleet-maintenance AND TARGET cronfleet-clock)
  add_test(NAME integration.service.grace
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_service_grace.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.service.grace PROPERTIES TIMEOUT 120)
endif()

# The pure parts of the job runtime (policies, backoff, classification of
# a fire's runs) and testsvc's job list.
cf_unit_test(unit.service.policy unit/test_service_policy.c cf_svc testsvc_spec)

# The guarantees through the real clock and two testsvc replicas: one run
# per fire, overlap, timeouts, retries, permanent failures, chaining.
if(TARGET cronfleet-clock)
  add_test(NAME integration.service.guarantees
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_service_guarantees.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.service.guarantees PROPERTIES TIMEOUT 600)
endif()

# Ticks of an overlap-skip job that wait together are claimed in one
# statement, each decided as if claimed one after another (nng ports
# 9750-9999).
if(TARGET cronfleet-clock)
  add_test(NAME integration.service.batch
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_service_batch.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.service.batch PROPERTIES TIMEOUT 300)
endif()

# The catch-up sweep through the real clock on virtual time: a service
# down while the clock fires (misfire once, all, skip), kill -9 mid-run,
# a new clock leader and fencing of an older epoch's tick.
if(TARGET cronfleet-clock)
  add_test(NAME integration.service.catchup
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_service_catchup.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.service.catchup PROPERTIES TIMEOUT 600)
endif()

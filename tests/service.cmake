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

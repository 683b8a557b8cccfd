# Integration tests of lib/cf_pg, cf_redis and cf_migrate against a real
# PostgreSQL and Redis: DATABASE_URL and REDIS_URL must be set (scripts/test
# starts both); without them the tests fail and say so.
cf_unit_test(integration.db.pg integration/test_pg.c cf_db)
cf_unit_test(integration.db.redis integration/test_redis.c cf_db)
cf_unit_test(integration.db.migrate integration/test_migrate.c cf_db)
target_compile_definitions(test_integration_db_migrate PRIVATE
  CF_MIGRATE_FIXTURES="${CMAKE_CURRENT_SOURCE_DIR}/integration/fixtures/db")

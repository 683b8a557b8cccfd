# services/ingest/bulk.c, the bulk measurement writer, against a real
# PostgreSQL (DATABASE_URL): both paths (direct COPY, staging + upsert),
# counts, re-runs that write nothing, repeated keys, rollback, streaming
# of batches too large to keep, a concurrent writer.
if(TARGET ingest_core)
  cf_unit_test(integration.ingest.bulk integration/test_ingest_bulk.c
               ingest_core)
  target_compile_definitions(test_integration_ingest_bulk PRIVATE
    INGEST_MIGRATIONS="${PROJECT_SOURCE_DIR}/db/ingest")
  set_tests_properties(integration.ingest.bulk PROPERTIES TIMEOUT 600)
endif()

# lib/cf_http against the real vendor simulator (started by the test on a
# port in 10500-10999 from its pid): success, 429 + Retry-After, 500
# retried, 400/401 not retried, timeouts, malformed JSON, a Retry-After
# beyond the deadline, the in-flight limit across threads, secrets kept
# out of the log and of error messages.
if(TARGET cronfleet-vendor-sim AND TARGET cf_http)
  cf_unit_test(integration.http integration/test_http.c cf_http)
  target_compile_definitions(test_integration_http PRIVATE
    CF_VENDOR_SIM_BIN="$<TARGET_FILE:cronfleet-vendor-sim>")
  add_dependencies(test_integration_http cronfleet-vendor-sim)
  set_tests_properties(integration.http PROPERTIES TIMEOUT 180)
endif()

# e2e.dashboard: the gateway's dashboard in Debian's headless chromium
# (playwright-core from tests/e2e/dashboard/package-lock.json), against
# the real clock, a test service as "ingest" and the gateway, on the real
# PostgreSQL and Redis. Port band 5500-5999. It fails, not skips, when
# chromium or playwright-core is missing: scripts/test installs both
# (scripts/lib/browser.sh). The screenshot lands in the build directory.
if(TARGET cronfleet-gateway AND TARGET cronfleet-clock
   AND TARGET cronfleet-testsvc)
  add_test(NAME e2e.dashboard
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/e2e/dashboard/run.sh
                   ${CMAKE_BINARY_DIR}/bin ${CMAKE_BINARY_DIR}/dashboard.png)
  set_tests_properties(e2e.dashboard PROPERTIES TIMEOUT 240 LABELS e2e)
endif()

# order-sync (EcoManager) and shipping-sync (Maystro) through the real
# path: cronfleet-clock, the vendor simulator, cronfleet-ingest and
# PostgreSQL (tests/integration/test_ingest_shop.sh, ports 7700-7899):
# orders matching the simulator, round-robin assignment, the binary
# search in /_sim/stats, re-runs that change nothing, mapped shipping
# statuses, concurrent pages, every fault mode, secrets kept out.
# Needs DATABASE_URL, REDIS_URL.
if(TARGET cronfleet-clock AND TARGET cronfleet-ingest
   AND TARGET cronfleet-vendor-sim)
  add_test(NAME integration.ingest.shop
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_ingest_shop.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.ingest.shop PROPERTIES TIMEOUT 600)
endif()

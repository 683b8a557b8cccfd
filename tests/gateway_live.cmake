# integration.gateway.live: the live surfaces of the gateway, GET
# /api/v1/events (server-sent events, Last-Event-ID) and GET /metrics
# (Prometheus text, read by a strict parser and, when installed, by the
# reference client's), through the real clock, cronfleet-testsvc as
# "ingest" and the real gateway on the real PostgreSQL and Redis. Ports
# 5000-5499.
if(TARGET cronfleet-clock AND TARGET cronfleet-gateway
   AND TARGET cronfleet-testsvc)
  add_test(NAME integration.gateway.live
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_gateway_live.sh
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(integration.gateway.live PROPERTIES TIMEOUT 300)
endif()

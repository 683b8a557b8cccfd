# The OpenAPI document (services/gateway/openapi.json) against the routes
# the gateway serves: gw_routes_list of the gateway_core library, both
# ways, and the document's own soundness.
cf_unit_test(unit.gateway.openapi unit/test_openapi.c gateway_core)
target_compile_definitions(test_unit_gateway_openapi PRIVATE
  CF_OPENAPI_FILE="${PROJECT_SOURCE_DIR}/services/gateway/openapi.json")

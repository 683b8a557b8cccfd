# cronfleet-testsvc: a domain service on the real job runtime whose jobs
# come from the environment (tests/support/testsvc.c), for the service,
# clock and fault tests. Built into build/bin like the fleet's services.
# Included from service.cmake.
add_library(testsvc_spec STATIC ${CMAKE_CURRENT_LIST_DIR}/support/testsvc_spec.c)
target_include_directories(testsvc_spec PUBLIC ${CMAKE_CURRENT_LIST_DIR}/support)
target_link_libraries(testsvc_spec PUBLIC cf_svc)

add_executable(cronfleet-testsvc ${CMAKE_CURRENT_LIST_DIR}/support/testsvc.c)
target_link_libraries(cronfleet-testsvc PRIVATE testsvc_spec cf_svc)

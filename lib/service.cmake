# cf_svc: the job runtime every domain service is built on (cf_service.h):
# configuration, migrations, ticks to job workers, run records, events and
# commands. Included by lib/CMakeLists.txt.
find_package(cJSON CONFIG REQUIRED)

add_library(cf_svc STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cf_service.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_cmd.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_history.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_policy.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_run.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_service_sweep.c
)
target_include_directories(cf_svc PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# The default CRONFLEET_MIGRATIONS: the source tree's db/, so a service
# started from the build tree finds its migrations without configuration.
target_compile_definitions(cf_svc PRIVATE
  CF_SVC_DB_DIR="${PROJECT_SOURCE_DIR}/db")
target_link_libraries(cf_svc PUBLIC cf cf_rt cf_db cf_nng cfproto cjson
                      Threads::Threads)

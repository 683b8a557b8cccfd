# The service runtime's configuration table and JSON-lines logging.
find_package(cJSON CONFIG REQUIRED)

add_library(cf_rt STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cf_config.c
  ${CMAKE_CURRENT_LIST_DIR}/cf_log.c
)
target_include_directories(cf_rt PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(cf_rt PUBLIC cf cjson Threads::Threads)

# cf_http: the vendors' HTTP client over libcurl (retries with backoff,
# Retry-After, deadlines, a shared in-flight limit, JSON bodies, secrets
# kept out of logs). Included by lib/CMakeLists.txt.
find_package(CURL REQUIRED)

add_library(cf_http STATIC ${CMAKE_CURRENT_LIST_DIR}/cf_http.c)
target_include_directories(cf_http PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(cf_http PUBLIC cf cf_rt CURL::libcurl cjson
                      Threads::Threads)

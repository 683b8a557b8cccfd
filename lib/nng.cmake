# cf_nng: the fleet's socket roles (REP workers, REQ, PUB, SUB) over nng.
find_package(nng CONFIG REQUIRED)
add_library(cf_nng STATIC ${CMAKE_CURRENT_SOURCE_DIR}/cf_nng.c)
target_include_directories(cf_nng PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cf_nng PUBLIC cf nng::nng Threads::Threads)

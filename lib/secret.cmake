# Credentials encrypted at rest (AES-256-GCM, OpenSSL) and token expiry:
# cf_secret, for the services that store vendor credentials (ingest).
# Included by lib/CMakeLists.txt.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(cJSON CONFIG REQUIRED)

add_library(cf_secret STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cf_secret.c
)
target_include_directories(cf_secret PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(cf_secret PUBLIC cf cf_rt OpenSSL::Crypto cjson m)

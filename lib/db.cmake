# PostgreSQL (libpq), Redis (hiredis) and migrations: cf_db, for the
# services that keep state. Included by lib/CMakeLists.txt.
find_package(PostgreSQL REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

add_library(cf_db STATIC
  cf_pg.c
  cf_redis.c
  cf_migrate.c
)
target_include_directories(cf_db PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(cf_db PUBLIC cf PostgreSQL::PostgreSQL
                      PkgConfig::HIREDIS Threads::Threads)

# lib/cf_secret: sealing, rotation, key parsing, JWT expiry (lib/secret.cmake).
if(TARGET cf_secret)
  cf_unit_test(unit.secret unit/test_secret.c cf_secret)
endif()

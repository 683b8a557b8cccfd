# Tests of the runtime's configuration table and logging (lib/runtime.cmake).
cf_unit_test(unit.config unit/test_config.c cf_rt)
cf_unit_test(unit.log unit/test_log.c cf_rt)

# The exit-2 path through a real process and the real environment.
add_test(NAME cli.config_exit
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_config_exit.sh
                 $<TARGET_FILE:test_unit_config>)
set_tests_properties(cli.config_exit PROPERTIES TIMEOUT 60)

# Tests of proto/ (included by tests/CMakeLists.txt): cmocka unit tests
# and a libFuzzer target for every decoder.
if(TARGET cfproto)
  cf_unit_test(unit.proto.codec unit/test_proto_codec.c cfproto)
  cf_unit_test(unit.proto.text unit/test_proto_text.c cfproto)
  cf_unit_test(unit.proto.bad unit/test_proto_bad.c cfproto)

  # The fuzz target is built by clang in a custom command, as for the
  # cron parser (see fuzz/CMakeLists.txt). The same source compiled by
  # the main compiler with CF_PROTO_FUZZ_SEEDS writes a seed corpus of
  # valid messages and a dictionary; a ctest fixture runs it first.
  find_program(CF_CLANG NAMES clang clang-14)
  if(CF_CLANG)
    set(pfuzz_exe ${CMAKE_BINARY_DIR}/tests/fuzz_proto_decode)
    set(pfuzz_dir ${CMAKE_BINARY_DIR}/fuzz-proto)
    set(pfuzz_srcs
      ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_proto_decode.c
      ${PROJECT_SOURCE_DIR}/proto/cf_proto.c
      ${PROJECT_SOURCE_DIR}/proto/cf_proto_text.c
      ${PROJECT_SOURCE_DIR}/lib/cf_err.c
      ${PROJECT_SOURCE_DIR}/lib/cf_time.c)
    add_custom_command(OUTPUT ${pfuzz_exe}
      COMMAND ${CF_CLANG} -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L
              -Wall -Wextra -Werror
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
              -I${PROJECT_SOURCE_DIR}/lib -I${PROJECT_SOURCE_DIR}/proto
              ${pfuzz_srcs} -lmsgpackc -lcjson -o ${pfuzz_exe}
      DEPENDS ${pfuzz_srcs} ${PROJECT_SOURCE_DIR}/proto/cf_proto.h
              ${PROJECT_SOURCE_DIR}/proto/cf_proto_int.h
      COMMENT "Building the proto libFuzzer target with clang")
    add_custom_target(fuzz_proto_decode ALL DEPENDS ${pfuzz_exe})

    add_executable(fuzz_proto_seeds fuzz/fuzz_proto_decode.c)
    target_compile_definitions(fuzz_proto_seeds PRIVATE CF_PROTO_FUZZ_SEEDS)
    target_link_libraries(fuzz_proto_seeds PRIVATE cfproto)
    set_target_properties(fuzz_proto_seeds PROPERTIES
                          RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME fuzz.proto.seeds
             COMMAND fuzz_proto_seeds ${pfuzz_dir}/seeds ${pfuzz_dir}/dict)
    set_tests_properties(fuzz.proto.seeds PROPERTIES TIMEOUT 60
                         FIXTURES_SETUP proto_seeds)

    # libFuzzer writes what it finds into the first corpus directory.
    file(MAKE_DIRECTORY ${pfuzz_dir}/corpus)
    add_test(NAME fuzz.proto.decode
      COMMAND ${pfuzz_exe} -runs=${CF_FUZZ_RUNS} -seed=1 -max_len=4096
              -dict=${pfuzz_dir}/dict ${pfuzz_dir}/corpus ${pfuzz_dir}/seeds)
    set_tests_properties(fuzz.proto.decode PROPERTIES TIMEOUT 600
                         FIXTURES_REQUIRED proto_seeds)
  else()
    message(WARNING "clang not found: fuzz.proto.decode is not built")
  endif()
endif()

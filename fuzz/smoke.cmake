# Registers a bounded smoke run of each fuzz target built in DNSFENCE_FUZZERS_DIR (by scripts/test)
# as a ctest test "fuzz.<target>": it starts from the committed corpus, and any crash, leak or
# sanitizer report fails it. New inputs go to the build tree (libFuzzer writes into the first
# corpus directory), so the committed corpus stays as it is.
# Eight targets at 20 s each: under 3 minutes of CPU, about 80 s of wall time at -j2.
set(DNSFENCE_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz target runs in the test suite")
file(GLOB fuzz_sources ${CMAKE_SOURCE_DIR}/fuzz/*_fuzz.cpp)
foreach(src ${fuzz_sources})
  get_filename_component(target ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" corpus ${target})
  set(scratch ${CMAKE_BINARY_DIR}/fuzz-corpus/${corpus})
  file(MAKE_DIRECTORY ${scratch})
  add_test(NAME fuzz.${corpus}
           COMMAND ${DNSFENCE_FUZZERS_DIR}/${target} -max_total_time=${DNSFENCE_FUZZ_SECONDS}
                   -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=${CMAKE_BINARY_DIR}/
                   ${scratch} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${corpus})
  set_tests_properties(fuzz.${corpus} PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()

# Records the git revision at configure time; scripts/test and scripts/demo reconfigure on each run.
execute_process(
  COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE DNSFENCE_GIT_REVISION
  OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET)
if(NOT DNSFENCE_GIT_REVISION)
  set(DNSFENCE_GIT_REVISION "unknown")
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/version.hpp.in ${CMAKE_BINARY_DIR}/generated/dnsfence/version.hpp @ONLY)

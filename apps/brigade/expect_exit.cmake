# Runs a command and checks its exit code and that stderr mentions "usage".
#   cmake -DCOMMAND=<exe> -DARGS=<a;b;c> -DEXPECTED=<code> -P expect_exit.cmake
# Used by the brigade.example.app_* smoke tests for bad command lines.

if(NOT DEFINED COMMAND OR NOT DEFINED EXPECTED)
  message(FATAL_ERROR "expect_exit.cmake: COMMAND and EXPECTED are required")
endif()
execute_process(
  COMMAND ${COMMAND} ${ARGS}
  RESULT_VARIABLE code
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 60)
if(NOT code STREQUAL "${EXPECTED}")
  message(FATAL_ERROR "expected exit code ${EXPECTED}, got '${code}'\nstdout:\n${out}\nstderr:\n${err}")
endif()
if(NOT err MATCHES "usage:")
  message(FATAL_ERROR "expected the usage text on stderr, got:\n${err}")
endif()
message(STATUS "exit code ${code} as expected; stderr:\n${err}")

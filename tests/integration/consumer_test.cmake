# cmake -P script behind the brigade.integration.consumer test.
# Inputs (-D): BRIGADE_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, CXX_COMPILER,
# and optionally CXX_COMPILER_LAUNCHER, BUILD_TYPE, MAKE_PROGRAM.
cmake_minimum_required(VERSION 3.25)

foreach(var BRIGADE_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "consumer_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

set(prefix ${WORK_DIR}/prefix)
set(consumer_build ${WORK_DIR}/build)
# Start clean so that nothing from an earlier run (an old header, a stale
# cache) can make the test pass.
file(REMOVE_RECURSE ${prefix} ${consumer_build})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer test: ${what} failed (${rc})")
  endif()
endfunction()

run_step("install" ${CMAKE_COMMAND} --install ${BRIGADE_BUILD_DIR} --prefix ${prefix})

set(configure_args
  -S ${CONSUMER_SOURCE_DIR} -B ${consumer_build} -G Ninja
  -DCMAKE_PREFIX_PATH=${prefix}
  -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(MAKE_PROGRAM)
  list(APPEND configure_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_COMPILER_LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER})
endif()
run_step("configure" ${CMAKE_COMMAND} ${configure_args})
run_step("build" ${CMAKE_COMMAND} --build ${consumer_build})
run_step("run" ${consumer_build}/brigade_consumer)

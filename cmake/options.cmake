# Build options. Sanitizer flags go on the global flags here, before any
# target exists, so that every target (and GoogleTest's templates in them) is
# instrumented the same way.

option(BRIGADE_BUILD_TESTS "Build the test suite" ${PROJECT_IS_TOP_LEVEL})
option(BRIGADE_BUILD_EXAMPLES "Build the examples" ${PROJECT_IS_TOP_LEVEL})
option(BRIGADE_BUILD_APPS "Build the brigade command-line program" ${PROJECT_IS_TOP_LEVEL})
option(BRIGADE_BUILD_BENCHMARKS "Build the Google Benchmark micro benchmarks" OFF)
set(BRIGADE_IO_URING "AUTO" CACHE STRING "Build the io_uring backend: AUTO, ON or OFF")
set_property(CACHE BRIGADE_IO_URING PROPERTY STRINGS AUTO ON OFF)
set(BRIGADE_SANITIZE "" CACHE STRING "Sanitizers: empty, 'address;undefined' or 'thread'")

if(BRIGADE_SANITIZE)
  set(_brigade_san "")
  foreach(_s IN LISTS BRIGADE_SANITIZE)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "BRIGADE_SANITIZE: unknown sanitizer '${_s}'")
    endif()
    list(APPEND _brigade_san ${_s})
  endforeach()
  list(JOIN _brigade_san "," _brigade_san_csv)
  set(_flags "-fsanitize=${_brigade_san_csv} -fno-omit-frame-pointer -fno-sanitize-recover=all")
  # Clang before 16: UBSan's `function` check emits prologue data that the
  # coroutine split clones (.resume/.destroy) cannot carry ("Cannot represent
  # a difference across sections"); turn that one check off.
  if("undefined" IN_LIST _brigade_san AND CMAKE_CXX_COMPILER_ID MATCHES "Clang"
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    string(APPEND _flags " -fno-sanitize=function")
  endif()
  string(APPEND CMAKE_CXX_FLAGS " ${_flags}")
  string(APPEND CMAKE_EXE_LINKER_FLAGS " ${_flags}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS " ${_flags}")
endif()

find_program(BRIGADE_CCACHE ccache)
if(BRIGADE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${BRIGADE_CCACHE}")
endif()

# C++14 sized deallocation (`::operator delete(p, size)`, used by the frame
# allocator) is on by default in GCC but off in Clang before 19.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-fsized-deallocation)
endif()

# Warnings for brigade's own targets only (never forced on consumers).
option(BRIGADE_WERROR "Treat warnings as errors" OFF)

add_library(brigade_warnings INTERFACE)
target_compile_options(brigade_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-interference-size>
  $<$<BOOL:${BRIGADE_WERROR}>:-Werror>)

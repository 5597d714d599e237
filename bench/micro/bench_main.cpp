// main() of the micro benchmarks: Google Benchmark's, plus the child mode
// (`--brigade-child <mode> <args...>`) used for measurements that need a
// fresh process (see bench_util.hpp).

#include "bench_util.hpp"

#include <benchmark/benchmark.h>

#include <string_view>

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "--brigade-child") {
    return brigade::bench::child_main(argc - 2, argv + 2);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// hello_tasks: the first things to know about brigade.
//
// Shows: a lazy task<T>, co_await for results, spawn for concurrency,
// when_all / when_any, and the same code on both runtime flavors: one cook
// (current_thread) and a brigade of cooks (multi_thread).
// Run: ./example_hello_tasks   (prints a few lines, exits 0)

#include <brigade/brigade.hpp>

#include <cstdio>
#include <string>

namespace bg = brigade;

namespace {

bg::task<int> boil_eggs(int minutes) {
  // A task can await other tasks: symmetric transfer, no thread, no queue.
  for (int i = 0; i < minutes; ++i) co_await bg::yield_now();  // let others cook meanwhile
  co_return 2;                                                 // two eggs
}

bg::task<std::string> make_toast() {
  co_await bg::yield_now();
  co_return std::string("toast");
}

bg::task<int> breakfast() {
  // Spawned tasks run concurrently with this one.
  bg::join_handle<int> eggs = bg::spawn(boil_eggs(5), "eggs");
  std::string toast = co_await make_toast();

  // when_all runs both at once and waits for both.
  auto [coffee, juice] = co_await bg::when_all(boil_eggs(1), boil_eggs(2));

  // when_any: the first to finish wins, the other is cancelled and awaited.
  auto first = co_await bg::when_any(boil_eggs(10), boil_eggs(1));

  const int n = co_await eggs;
  std::printf("  %d eggs, %s, %d+%d cups, winner #%zu\n", n, toast.c_str(), coffee, juice,
              first.index);
  co_return n + coffee + juice;
}

}  // namespace

int main() {
  for (bg::flavor f : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    bg::runtime rt{bg::runtime_options{.flavor = f, .worker_threads = 2}};
    std::printf("%s:\n", f == bg::flavor::current_thread ? "current_thread" : "multi_thread");
    const int total = rt.block_on(breakfast());
    if (total != 6) {
      std::fprintf(stderr, "unexpected total %d\n", total);
      return 1;
    }
  }
  return 0;
}

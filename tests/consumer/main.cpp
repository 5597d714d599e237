// Smoke test of the installed package: include the umbrella header, run a
// few tasks on a current_thread runtime, check the result.
#include <brigade/brigade.hpp>

#include <cstdio>
#include <tuple>

namespace {

brigade::task<int> square(int x) {
  const int result = x * x;
  co_return result;
}

brigade::task<int> sum_of_squares() {
  auto h = brigade::spawn(square(3));
  auto [a, b] = co_await brigade::when_all(square(4), square(5));
  const int c = co_await h;
  co_return a + b + c;
}

}  // namespace

int main() {
  brigade::runtime rt{brigade::runtime_options{.flavor = brigade::flavor::current_thread}};
  const int got = rt.block_on(sum_of_squares());
  if (got != 50) {
    std::fprintf(stderr, "brigade consumer: expected 50, got %d\n", got);
    return 1;
  }
  std::puts("brigade consumer: ok");
  return 0;
}

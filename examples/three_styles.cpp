// three_styles: one operation written three ways, side by side.
//
// Shows: fetching two values concurrently and combining them with
//   1. callbacks        (a legacy API, counting completions by hand),
//   2. promises/futures (brigade::promise / future, .then and .get),
//   3. co_await         (from_callback + when_all in a task),
// and the bridges between them: from_callback (callback -> awaitable),
// as_task (future -> task), on_complete (task -> callback).
// Run: ./example_three_styles   (prints four lines, exits 0)

#include <brigade/callback.hpp>
#include <brigade/future.hpp>
#include <brigade/runtime.hpp>
#include <brigade/task.hpp>
#include <brigade/when.hpp>

#include <condition_variable>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bg = brigade;

namespace {

/// A callback API of the kind every codebase has: it answers on its own
/// thread. (The price is a pure function of the item, so runs are stable.)
class price_service {
 public:
  void fetch_price(const std::string& item, std::function<void(int)> done) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back([item, done = std::move(done)] {
      done(static_cast<int>(item.size()) * 100);  // "eggs" costs 400
    });
  }
  ~price_service() {
    for (auto& t : threads_) t.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

// ---- 1. callbacks -----------------------------------------------------------
// Both requests are in flight at once; the last callback to arrive combines.
// Shared state, a lock and a counter are the price of this style.
int with_callbacks(price_service& svc) {
  struct join_state {
    std::mutex m;
    std::condition_variable cv;
    int sum = 0;
    int remaining = 2;
  } st;
  auto on_price = [&st](int price) {
    std::lock_guard lock(st.m);
    st.sum += price;
    if (--st.remaining == 0) st.cv.notify_one();
  };
  svc.fetch_price("eggs", on_price);
  svc.fetch_price("toast", on_price);
  std::unique_lock lock(st.m);
  st.cv.wait(lock, [&st] { return st.remaining == 0; });
  return st.sum;
}

// ---- 2. promises and futures ---------------------------------------------------
// A promise adapts the callback once; then futures compose without locks.
bg::future<int> fetch_future(price_service& svc, const std::string& item) {
  bg::promise<int> p;
  bg::future<int> f = p.get_future();
  auto shared = std::make_shared<bg::promise<int>>(std::move(p));
  svc.fetch_price(item, [shared](int price) { shared->set_value(price); });
  return f;
}

int with_futures(price_service& svc) {
  bg::future<int> eggs = fetch_future(svc, "eggs");  // both in flight now
  bg::future<int> toast = fetch_future(svc, "toast");
  // .then runs on the thread that fulfils the promise; .get blocks this one.
  bg::future<int> toast_with_tax = toast.then([](int v) { return v + v / 10; });
  return eggs.get() + toast_with_tax.get() - 50;  // (the tax, refunded)
}

// ---- 3. co_await ----------------------------------------------------------------
// from_callback adapts the callback; when_all runs both fetches concurrently.
bg::task<int> fetch(price_service& svc, std::string item) {
  co_return co_await bg::from_callback<int>(
      [&svc, &item](auto resolve) { svc.fetch_price(item, resolve); });
}

bg::task<int> with_co_await(price_service& svc) {
  auto [eggs, toast] = co_await bg::when_all(fetch(svc, "eggs"), fetch(svc, "toast"));
  co_return eggs + toast;
}

// Styles mix: futures join when_all through as_task.
bg::task<int> mixed(price_service& svc) {
  auto [eggs, toast] =
      co_await bg::when_all(bg::as_task(fetch_future(svc, "eggs")), fetch(svc, "toast"));
  co_return eggs + toast;
}

}  // namespace

int main() {
  price_service svc;
  bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread, .worker_threads = 2}};

  const int a = with_callbacks(svc);
  const int b = with_futures(svc);
  const int c = rt.block_on(with_co_await(svc));
  const int d = rt.block_on(mixed(svc));
  std::printf("callbacks: %d\nfutures:   %d\nco_await:  %d\nmixed:     %d\n", a, b, c, d);

  // And back: a task's result delivered to a callback (on_complete).
  bg::promise<int> done;
  bg::future<int> done_future = done.get_future();
  bg::on_complete(rt.spawn(with_co_await(svc)),
                  bg::overloaded{[&done](int v) { done.set_value(v); },
                                 [&done](std::exception_ptr e) { done.set_exception(e); }});
  const int e = done_future.get();

  return (a == 900 && b == 900 && c == 900 && d == 900 && e == 900) ? 0 : 1;
}

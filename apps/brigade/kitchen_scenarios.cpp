// The kitchen scenarios in each model (see kitchen_scenarios.hpp).
//
// The async models run the very same coroutines; only the runtime differs.
// Waits are timers, work is busy_for(): the cook computes for that long.

#include "kitchen_scenarios.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>
#include <brigade/trace.hpp>

#include <thread>
#include <utility>

namespace brigade::app {

namespace {

constexpr std::size_t max_timeline_events = 6000;

// The story, in minutes (see kitchen_scenarios.hpp).
constexpr double egg_minutes = 3;
constexpr int eggs = 2;
constexpr double toast_minutes = 4;
constexpr int chores = 6;
constexpr double chore_minutes = 0.4;
constexpr double errand_minutes = 8;
constexpr double chop_minutes = 1;
constexpr double simmer_minutes = 6;
constexpr double drinks_minutes = 1;
constexpr double boil_minutes = 4;
constexpr double queue_minutes = 5;
constexpr int selfies = 4;
constexpr double selfie_minutes = 0.5;

/// What the coroutines share; lives outside block_on, so references to it
/// stay valid across every co_await.
struct kitchen {
  std::chrono::nanoseconds minute;
  run_meter& meter;
  brigade::mutex pan;

  std::chrono::nanoseconds minutes(double m) const {
    return std::chrono::nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(minute.count()) * m));
  }
  void work(const char* label, double m) const {
    const trace_span span{label};
    busy_for(minutes(m));
  }
};

// ---- async (both runtime models) ------------------------------------------

task<> fry_egg(kitchen& k) {
  // The pan is shared: a second cook waits for it without holding a thread.
  auto guard = co_await k.pan.lock();
  co_await brigade::sleep(k.minutes(egg_minutes));
}

task<> make_toast(kitchen& k) { co_await brigade::sleep(k.minutes(toast_minutes)); }

task<> clean_kitchen(kitchen& k) {
  // A chore, then a break until the next minute. Not an interval: its next
  // tick is fixed before the chore runs, so on a loaded machine a chore that
  // overruns the minute makes the next tick ready at once, and the cook
  // would clean without ever looking at the eggs. A sleep always lets the
  // eggs and the toast have their turn.
  for (int i = 0; i < chores; ++i) {
    k.work("chore", chore_minutes);
    co_await brigade::sleep(k.minutes(1 - chore_minutes));
  }
}

task<> eggs_and_toast_async(kitchen& k) {
  join_handle<void> first = spawn(fry_egg(k), "egg 1");
  join_handle<void> second = spawn(fry_egg(k), "egg 2");
  join_handle<void> toast = spawn(make_toast(k), "toast");
  join_handle<void> cleaning = spawn(clean_kitchen(k), "clean the kitchen");
  k.meter.note_threads();
  co_await first;
  co_await second;
  co_await toast;
  co_await cleaning;
}

task<> buy_pasta(kitchen& k) { co_await brigade::sleep(k.minutes(errand_minutes)); }

task<> make_sauce(kitchen& k) {
  k.work("chop", chop_minutes);
  co_await brigade::sleep(k.minutes(simmer_minutes));
}

task<> make_drinks(kitchen& k) {
  k.work("drinks", drinks_minutes);
  co_return;
}

task<> dinner_async(kitchen& k) {
  join_handle<void> pasta = spawn(buy_pasta(k), "friend buys pasta");
  join_handle<void> sauce = spawn(make_sauce(k), "sauce");
  join_handle<void> drinks = spawn(make_drinks(k), "drinks");
  k.meter.note_threads();
  co_await sauce;
  co_await drinks;
  co_await pasta;  // the friend is back: now the pasta can boil
  co_await brigade::sleep(k.minutes(boil_minutes));
}

task<> counter_queue(kitchen& k) { co_await brigade::sleep(k.minutes(queue_minutes)); }

task<> take_selfies(kitchen& k) {
  for (int i = 0; i < selfies; ++i) {
    k.work("selfie", selfie_minutes);
    co_await brigade::yield_now();  // look up: has the queue moved?
  }
}

task<> theatre_async(kitchen& k) {
  join_handle<void> queue = spawn(counter_queue(k), "queue at the counter");
  join_handle<void> photos = spawn(take_selfies(k), "selfies");
  k.meter.note_threads();
  co_await photos;
  co_await queue;
}

task<> scenario_task(kitchen_scenario s, kitchen& k) {
  switch (s) {
    case kitchen_scenario::eggs_and_toast:
      co_await eggs_and_toast_async(k);
      break;
    case kitchen_scenario::dinner:
      co_await dinner_async(k);
      break;
    case kitchen_scenario::theatre:
      co_await theatre_async(k);
      break;
  }
}

// ---- synchronous: one thing at a time --------------------------------------

/// The synchronous cook records its own timeline, in the runtime's format:
/// waits are the thread parked in sleep_for, work is a turn.
class sync_cook {
 public:
  explicit sync_cook(const kitchen& k) : k_(k), lane_(trace_.add_lane("main thread")) {}

  void wait(const char* what, double m) {
    const std::int64_t start = trace_.now_ns();
    std::this_thread::sleep_for(k_.minutes(m));
    trace_.span(trace_event::kind::park, lane_, 0, start, std::string(what) + " (sleep_for)");
  }
  void work(const char* what, double m) {
    const std::int64_t start = trace_.now_ns();
    busy_for(k_.minutes(m));
    trace_.span(trace_event::kind::run, lane_, ++task_, start, what);
  }
  timeline take(std::string title) { return trace_.take(std::move(title), max_timeline_events); }

 private:
  const kitchen& k_;
  manual_trace trace_;
  std::uint32_t lane_;
  std::uint64_t task_ = 0;
};

void run_sync(kitchen_scenario s, sync_cook& cook) {
  switch (s) {
    case kitchen_scenario::eggs_and_toast:
      for (int i = 0; i < eggs; ++i) cook.wait("egg in the pan", egg_minutes);
      cook.wait("toast", toast_minutes);
      for (int i = 0; i < chores; ++i) cook.work("chore", chore_minutes);
      break;
    case kitchen_scenario::dinner:
      cook.wait("fetch the pasta yourself", errand_minutes);
      cook.work("chop", chop_minutes);
      cook.wait("sauce simmers", simmer_minutes);
      cook.work("drinks", drinks_minutes);
      cook.wait("pasta boils", boil_minutes);
      break;
    case kitchen_scenario::theatre:
      cook.wait("queue at the counter", queue_minutes);
      for (int i = 0; i < selfies; ++i) cook.work("selfie", selfie_minutes);
      break;
  }
}

}  // namespace

kitchen_run run_kitchen(kitchen_scenario s, kitchen_model m, const kitchen_plan& plan) {
  run_meter meter;
  kitchen k{plan.minute, meter, {}};
  const std::string title = scenario_name(s) + " — " + model_name(m, plan);
  if (m == kitchen_model::synchronous) {
    sync_cook cook{k};
    run_sync(s, cook);
    kitchen_run r{meter.finish(), {}};
    r.trace = cook.take(title);
    return r;
  }
  runtime_options options;
  options.flavor =
      m == kitchen_model::async_one_thread ? flavor::current_thread : flavor::multi_thread;
  options.worker_threads = plan.cooks;
  options.trace_in_memory = true;
  runtime rt{std::move(options)};
  rt.block_on(scenario_task(s, k));
  kitchen_run r{meter.finish(), {}};
  // After shutdown: every worker has left the runtime and so flushed its
  // staged events (a snapshot taken before misses up to a batch per worker).
  rt.shutdown();
  r.trace = from_recording(title, rt.trace(), max_timeline_events);
  return r;
}

scenario_minutes minutes_of(kitchen_scenario s) noexcept {
  switch (s) {
    case kitchen_scenario::eggs_and_toast: {
      const double egg_chain = eggs * egg_minutes;
      const double work = chores * chore_minutes;
      return {egg_chain + toast_minutes + work,
              egg_chain > toast_minutes ? egg_chain : toast_minutes, work};
    }
    case kitchen_scenario::dinner:
      return {errand_minutes + chop_minutes + simmer_minutes + drinks_minutes + boil_minutes,
              errand_minutes + boil_minutes, chop_minutes + drinks_minutes};
    case kitchen_scenario::theatre:
      return {queue_minutes + selfies * selfie_minutes, queue_minutes, selfies * selfie_minutes};
  }
  return {};
}

std::string scenario_name(kitchen_scenario s) {
  switch (s) {
    case kitchen_scenario::eggs_and_toast:
      return "eggs and toast";
    case kitchen_scenario::dinner:
      return "dinner with a friend";
    case kitchen_scenario::theatre:
      return "the theatre queue";
  }
  return "?";
}

std::string scenario_key(kitchen_scenario s) {
  switch (s) {
    case kitchen_scenario::eggs_and_toast:
      return "eggs_and_toast";
    case kitchen_scenario::dinner:
      return "dinner";
    case kitchen_scenario::theatre:
      return "theatre";
  }
  return "?";
}

std::string model_name(kitchen_model m, const kitchen_plan& plan) {
  switch (m) {
    case kitchen_model::synchronous:
      return "synchronous";
    case kitchen_model::async_one_thread:
      return "async, one thread";
    case kitchen_model::async_many_cooks:
      return "async, " + std::to_string(plan.cooks) + (plan.cooks == 1 ? " cook" : " cooks");
  }
  return "?";
}

std::string model_key(kitchen_model m) {
  switch (m) {
    case kitchen_model::synchronous:
      return "synchronous";
    case kitchen_model::async_one_thread:
      return "async_one_thread";
    case kitchen_model::async_many_cooks:
      return "async_many_cooks";
  }
  return "?";
}

}  // namespace brigade::app

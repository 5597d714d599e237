// trace.hpp: what a traced runtime records, and its Chrome trace-event JSON.
#include <brigade/trace.hpp>

#include "json_reader.hpp"

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/spawn.hpp>
#include <brigade/sync/mutex.hpp>
#include <brigade/task.hpp>
#include <brigade/time/sleep.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace bg = brigade;
using brigade::test::json_reader;
using brigade::test::json_value;

constexpr std::size_t workers = 2;

/// Which threads ran a task; tasks hold their worker until every worker has
/// run one (bounded), so that each worker's lane must show a turn: while one
/// task spins on a worker, the others wait in queues the idle worker steals.
struct worker_census {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  std::atomic<bool> all_seen{false};
};

bg::task<> hold_until_every_worker_ran(worker_census& census) {
  {
    std::lock_guard lock(census.mutex);
    census.seen.insert(std::this_thread::get_id());
    // release: pairs with the acquire load below in the other tasks.
    if (census.seen.size() >= workers) census.all_seen.store(true, std::memory_order_release);
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // acquire: pairs with the release store above.
  while (!census.all_seen.load(std::memory_order_acquire) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  co_return;
}

bg::task<> spread_over_workers(worker_census& census) {
  std::vector<bg::join_handle<void>> handles;
  for (std::size_t i = 0; i < 8 * workers; ++i) {
    handles.push_back(bg::spawn(hold_until_every_worker_ran(census), "holder"));
  }
  for (auto& h : handles) co_await h;
}

bg::task<int> traced_child() {
  const bg::trace_span span{"user work"};
  co_return 7;
}

bg::task<int> spawn_and_join() { co_return co_await bg::spawn(traced_child(), "child"); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `body` on a new thread and waits for it. Why: a thread that drove a
/// traced runtime keeps a thread-local pointer to that runtime's tracer;
/// the next tracer may be allocated at the same address, and the tracer
/// then takes the stale lane index for its own (src/trace/tracer.cpp,
/// tracer::local() compares addresses: an ABA crash, seen under TSan).
/// A fresh thread has no stale pointer.
template <class F>
void on_fresh_thread(F body) {
  std::thread t(std::move(body));
  t.join();
}

std::filesystem::path temp_trace_path(const char* name) {
  return std::filesystem::temp_directory_path() /
         ("brigade_trace_test_" + std::to_string(::getpid()) + "_" + name + ".json");
}

TEST(Trace, MultiThreadTraceFileParsesAndHasRunSpansOnEveryWorker) {
  const std::filesystem::path path = temp_trace_path("multi");
  worker_census census;
  on_fresh_thread([&] {
    bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::multi_thread,
                                       .worker_threads = workers,
                                       .trace_path = path.string()}};
    rt.block_on(spread_over_workers(census));
  });  // the trace is written at shutdown
  ASSERT_EQ(census.seen.size(), workers) << "the tasks did not spread over the workers";
  const std::string text = read_file(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(text.empty()) << "no trace written to " << path;
  json_value doc;
  ASSERT_NO_THROW(doc = json_reader(text).parse_document()) << text.substr(0, 2000);
  ASSERT_TRUE(doc.has("traceEvents"));
  const json_value& events = doc.at("traceEvents");
  ASSERT_EQ(events.kind, json_value::type::array);

  std::set<double> worker_tids;
  std::set<double> tids_with_runs;
  std::size_t spawns = 0;
  for (const json_value& e : events.items) {
    ASSERT_EQ(e.kind, json_value::type::object);
    ASSERT_TRUE(e.has("ph") && e.has("name") && e.has("pid") && e.has("tid"));
    const std::string& ph = e.at("ph").text;
    if (ph == "M") {
      if (e.at("args").at("name").text.rfind("worker", 0) == 0)
        worker_tids.insert(e.at("tid").number);
      continue;
    }
    ASSERT_TRUE(e.has("ts") && e.has("cat"));
    EXPECT_GE(e.at("ts").number, 0.0);
    if (ph == "X") {
      ASSERT_TRUE(e.has("dur"));
      EXPECT_GE(e.at("dur").number, 0.0);
      if (e.at("cat").text == "task") tids_with_runs.insert(e.at("tid").number);
    } else {
      EXPECT_EQ(ph, "i");
      if (e.at("cat").text == "spawn") ++spawns;
    }
  }
  EXPECT_EQ(worker_tids.size(), workers) << "one named lane per worker";
  for (double tid : worker_tids) {
    EXPECT_EQ(tids_with_runs.count(tid), 1u) << "no run span on worker lane " << tid;
  }
  EXPECT_GE(spawns, 8 * workers) << "every spawn is an instant";
}

bg::task<> expect_seven() {
  const int v = co_await spawn_and_join();
  EXPECT_EQ(v, 7);
}

/// Runs `root` on a fresh runtime of flavor `f` that traces in memory; the
/// recording after shutdown (every worker flushes what it staged).
template <class Root>
bg::trace_recording record(bg::flavor f, Root root) {
  bg::runtime_options options;
  options.flavor = f;
  options.worker_threads = workers;
  options.trace_in_memory = true;
  bg::trace_recording r;
  on_fresh_thread([&] {
    bg::runtime rt{std::move(options)};
    rt.block_on(root());
    rt.shutdown();
    r = rt.trace();
  });
  return r;
}

TEST(Trace, InMemoryRecordingHasTurnsSpawnsAndUserSpans) {
  for (const bg::flavor f : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    const bg::trace_recording r = record(f, [] { return expect_seven(); });
    bool child_ran = false;
    bool child_spawned = false;
    bool user_span = false;
    for (const bg::trace_event& e : r.events) {
      ASSERT_LT(e.lane, r.lanes.size());
      EXPECT_LE(e.start_ns, e.end_ns);
      if (e.what == bg::trace_event::kind::run && e.name == "child") child_ran = true;
      if (e.what == bg::trace_event::kind::spawn && e.name == "child") {
        child_spawned = true;
        EXPECT_EQ(e.start_ns, e.end_ns) << "a spawn is an instant";
        EXPECT_NE(e.other, 0u) << "spawned from a task";
      }
      if (e.what == bg::trace_event::kind::user && e.name == "user work") user_span = true;
    }
    EXPECT_TRUE(child_ran);
    EXPECT_TRUE(child_spawned);
    EXPECT_TRUE(user_span);
    EXPECT_EQ(r.dropped, 0u);
    EXPECT_NO_THROW(json_reader(r.chrome_json()).parse_document());
  }
}

/// Locks `m` and sleeps holding it. The first of the two to get the lock
/// sleeps (2 ms at a time, ~10 s at most) until the other queues for it: a
/// single fixed sleep let the other, run late on a loaded machine, find the
/// lock free and never wait.
bg::task<> lock_then_sleep(bg::mutex& m, std::atomic<int>& holders) {
  auto guard = co_await m.lock();
  const bool first = holders.fetch_add(1) == 0;
  for (int i = 0; i < 5000; ++i) {
    co_await bg::sleep(std::chrono::milliseconds(2));
    if (!first || m.waiters() > 0) break;
  }
}

bg::task<> contend_and_sleep(bg::mutex& m) {
  std::atomic<int> holders{0};
  auto a = bg::spawn(lock_then_sleep(m, holders), "first");
  auto b = bg::spawn(lock_then_sleep(m, holders), "second");
  co_await a;
  co_await b;
}

TEST(Trace, RunSpansSayWhatTheTaskThenWaitsOn) {
  for (const bg::flavor f : {bg::flavor::current_thread, bg::flavor::multi_thread}) {
    bg::mutex m;
    const bg::trace_recording r = record(f, [&m] { return contend_and_sleep(m); });
    char mutex_text[64];
    std::snprintf(mutex_text, sizeof mutex_text, "mutex %p", static_cast<void*>(&m));
    bool slept = false;
    bool waited_for_lock = false;
    bool joined = false;
    for (const bg::trace_event& e : r.events) {
      if (e.what != bg::trace_event::kind::run) {
        EXPECT_TRUE(e.waits_on.empty()) << "only turns record waits";
        continue;
      }
      if (e.waits_on.rfind("sleep until +", 0) == 0) slept = true;
      if (e.waits_on == mutex_text) waited_for_lock = true;
      if (e.waits_on.rfind("join task 0x", 0) == 0) joined = true;
    }
    EXPECT_TRUE(slept) << "both tasks sleep holding the lock";
    EXPECT_TRUE(waited_for_lock) << "one of them waits for the other's guard: " << mutex_text;
    EXPECT_TRUE(joined) << "the root waits for its children";
    const json_value doc = json_reader(r.chrome_json()).parse_document();
    bool json_has_wait = false;
    for (const json_value& e : doc.at("traceEvents").items) {
      if (e.has("args") && e.at("args").has("waits_on") &&
          e.at("args").at("waits_on").text == mutex_text) {
        json_has_wait = true;
      }
    }
    EXPECT_TRUE(json_has_wait) << "the Chrome JSON carries waits_on in args";
  }
}

TEST(Trace, ChromeJsonEscapesNames) {
  bg::trace_recording r;
  r.lanes = {"lane \"0\"\n"};
  bg::trace_event e;
  e.what = bg::trace_event::kind::user;
  e.name = "quote \" backslash \\ tab \t";
  e.end_ns = 1500;
  r.events.push_back(e);
  const json_value doc = json_reader(r.chrome_json()).parse_document();
  const json_value& events = doc.at("traceEvents");
  ASSERT_EQ(events.items.size(), 2u);
  EXPECT_EQ(events.items[0].at("args").at("name").text, "lane \"0\"\n");
  EXPECT_EQ(events.items[1].at("name").text, e.name);
  EXPECT_DOUBLE_EQ(events.items[1].at("dur").number, 1.5);
}

TEST(Trace, NoTraceWithoutTracing) {
  bg::trace_recording r;
  on_fresh_thread([&] {
    bg::runtime rt{bg::runtime_options{.flavor = bg::flavor::current_thread}};
    EXPECT_EQ(rt.block_on(spawn_and_join()), 7);
    r = rt.trace();
  });
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.lanes.empty());
}

}  // namespace

// The schedule explorer (see model.hpp and docs/design/model-checking.md).
//
// State of one execution lives in `execution`; only the thread holding the
// baton touches it (the baton changes hands through semaphores, which order
// the accesses). A decision point is a scheduling point with more than one
// thread to choose from; DFS keeps the trail of (choice, number of options)
// of the current execution and, after it, advances the deepest decision that
// has an untried option.

#include "model/model.hpp"

#include <brigade/detail/atomic.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <semaphore>
#include <sstream>
#include <thread>

namespace brigade::model {

namespace {

struct mthread {
  int id = 0;
  std::function<void()> fn;
  std::binary_semaphore go{0};
  bool finished = false;
  const void* blocked_on = nullptr;  // waiting in atomic::wait
  int join_target = -1;              // waiting in thread::join
};

struct decision {
  std::uint32_t choice;
  std::uint32_t count;
};

enum class mode { dfs, random, replay };

struct execution {
  std::vector<std::unique_ptr<mthread>> threads;
  int current = 0;
  int preemptions = 0;
  std::uint64_t steps = 0;
  std::uint64_t blocks = 0;
  bool failed = false;
  std::string failure;
  std::vector<std::uint32_t> choices;  // this execution's decisions
  std::binary_semaphore done{0};       // released to the controller at the end
};

struct explorer_state {
  options opts;
  mode how = mode::dfs;
  std::vector<decision> trail;  // DFS: the decisions to replay, then extend
  std::mt19937_64 rng;
  execution* exec = nullptr;
  std::int64_t tracked_live = 0;
};

explorer_state* g_state = nullptr;
thread_local mthread* tl_self = nullptr;

bool enabled(const execution& e, const mthread& t) {
  if (t.finished || t.blocked_on != nullptr) return false;
  if (t.join_target >= 0 && !e.threads[static_cast<std::size_t>(t.join_target)]->finished) {
    return false;
  }
  return true;
}

std::string schedule_string(const std::vector<std::uint32_t>& s) {
  std::ostringstream out;
  for (std::size_t i = 0; i < s.size(); ++i) out << (i == 0 ? "" : ",") << s[i];
  return out.str();
}

// Parks the calling thread for good: a failed execution is abandoned (its
// threads are detached and leaked) instead of unwound through noexcept code.
[[noreturn]] void park_forever(mthread* me) {
  tl_self = nullptr;
  for (;;) me->go.acquire();
}

[[noreturn]] void fail_execution(mthread* me, std::string why) {
  execution& e = *g_state->exec;
  if (!e.failed) {
    e.failed = true;
    e.failure = std::move(why);
  }
  e.done.release();
  park_forever(me);
}

std::uint32_t pick(execution& e, std::uint32_t count, mthread* me) {
  explorer_state& s = *g_state;
  std::uint32_t c = 0;
  switch (s.how) {
    case mode::dfs: {
      const std::size_t depth = e.choices.size();
      if (depth < s.trail.size()) {
        if (s.trail[depth].count != count) {
          fail_execution(me, "nondeterministic test body: a replayed decision changed");
        }
        c = s.trail[depth].choice;
      } else {
        s.trail.push_back({0, count});
      }
      break;
    }
    case mode::random:
      c = static_cast<std::uint32_t>(s.rng() % count);
      break;
    case mode::replay: {
      const std::size_t depth = e.choices.size();
      c = depth < s.opts.replay.size() ? s.opts.replay[depth] : 0;
      if (c >= count) fail_execution(me, "replay: the schedule does not fit this body");
      break;
    }
  }
  e.choices.push_back(c);
  return c;
}

// Chooses who runs next; `me` holds the baton. Returns -1 when no thread can
// run. `spinning`: me asked to let others run first.
int choose(execution& e, mthread* me, bool spinning) {
  const bool me_can_run = enabled(e, *me);
  std::vector<int> opts;
  if (me_can_run && !spinning) {
    opts.push_back(me->id);
    if (e.preemptions < g_state->opts.preemption_bound) {
      for (auto& t : e.threads) {
        if (t->id != me->id && enabled(e, *t)) opts.push_back(t->id);
      }
    }
  } else if (spinning) {
    // No choice at a spin: the next enabled thread after me, round robin.
    // Spinning waits for another thread's progress; branching here would
    // multiply the schedules by every spin iteration and add nothing the
    // preemption points do not already cover.
    const int n = static_cast<int>(e.threads.size());
    for (int k = 1; k <= n; ++k) {
      const int id = (me->id + k) % n;
      if (enabled(e, *e.threads[static_cast<std::size_t>(id)])) {
        opts.push_back(id);
        break;
      }
    }
  } else {
    for (auto& t : e.threads) {
      if (t->id != me->id && enabled(e, *t)) opts.push_back(t->id);
    }
  }
  if (opts.empty()) return -1;
  const std::uint32_t i =
      opts.size() == 1 ? 0 : pick(e, static_cast<std::uint32_t>(opts.size()), me);
  const int next = opts[i];
  if (me_can_run && !spinning && next != me->id) ++e.preemptions;
  return next;
}

std::string blocked_summary(const execution& e) {
  std::ostringstream out;
  for (const auto& t : e.threads) {
    if (t->finished) continue;
    out << " thread " << t->id;
    if (t->blocked_on != nullptr) out << " waits on atomic " << t->blocked_on;
    if (t->join_target >= 0) out << " joins thread " << t->join_target;
    out << ";";
  }
  return out.str();
}

// A scheduling point on model thread `me`.
void switch_point(mthread* me, bool spinning) {
  execution& e = *g_state->exec;
  if (++e.steps > g_state->opts.max_steps) {
    fail_execution(
        me, "step limit reached (livelock?) after " + std::to_string(e.steps - 1) + " steps");
  }
  const int next = choose(e, me, spinning);
  if (next < 0) fail_execution(me, "deadlock (lost wake-up?):" + blocked_summary(e));
  if (next == me->id) return;
  e.current = next;
  e.threads[static_cast<std::size_t>(next)]->go.release();
  me->go.acquire();
}

void thread_main(mthread* me) {
  me->go.acquire();
  tl_self = me;
  try {
    me->fn();
  } catch (const std::exception& ex) {
    fail_execution(me, std::string("exception escaped a model thread: ") + ex.what());
  } catch (...) {
    fail_execution(me, "exception escaped a model thread");
  }
  execution& e = *g_state->exec;
  me->finished = true;
  tl_self = nullptr;
  const int next = choose(e, me, false);
  if (next >= 0) {
    e.current = next;
    e.threads[static_cast<std::size_t>(next)]->go.release();
    return;
  }
  bool all_done = true;
  for (auto& t : e.threads) all_done = all_done && t->finished;
  if (!all_done) {
    e.failed = true;
    e.failure = "deadlock (lost wake-up?):" + blocked_summary(e);
  }
  e.done.release();
}

// OS threads are reused across executions: model thread i always runs on
// pool slot i (so its thread_local state is that of one thread), which saves
// creating and joining a thread per model thread per execution. A slot whose
// model thread failed is parked for good; the pool is then dropped (leaked)
// and rebuilt.
struct os_thread {
  std::thread real;
  std::binary_semaphore start{0};
  std::binary_semaphore idle{0};
  mthread* job = nullptr;
};

std::vector<os_thread*>& pool() {
  static auto* p = new std::vector<os_thread*>;  // leaked: its threads never end
  return *p;
}

void pool_loop(os_thread* t) {
  for (;;) {
    t->start.acquire();
    thread_main(t->job);
    t->idle.release();
  }
}

int start_thread(std::function<void()> fn) {
  execution& e = *g_state->exec;
  auto t = std::make_unique<mthread>();
  t->id = static_cast<int>(e.threads.size());
  t->fn = std::move(fn);
  mthread* raw = t.get();
  e.threads.push_back(std::move(t));
  std::vector<os_thread*>& p = pool();
  if (p.size() <= static_cast<std::size_t>(raw->id)) {
    auto* fresh = new os_thread;
    fresh->real = std::thread(pool_loop, fresh);
    fresh->real.detach();
    p.push_back(fresh);
  }
  os_thread* slot = p[static_cast<std::size_t>(raw->id)];
  slot->job = raw;
  slot->start.release();
  return raw->id;
}

// Runs one execution; returns it (leaked on failure: its threads live on).
std::unique_ptr<execution> run_once(const std::function<void()>& body) {
  auto e = std::make_unique<execution>();
  g_state->exec = e.get();
  g_state->tracked_live = 0;
  start_thread(body);
  e->threads[0]->go.release();
  e->done.acquire();
  if (e->failed) {
    // Its threads may be parked for good: retire them, still reachable.
    static auto* retired = new std::vector<os_thread*>;
    retired->insert(retired->end(), pool().begin(), pool().end());
    pool().clear();
    return e;
  }
  for (std::size_t i = 0; i < e->threads.size(); ++i) pool()[i]->idle.acquire();
  if (g_state->tracked_live != 0) {
    e->failed = true;
    e->failure = "leak: " + std::to_string(g_state->tracked_live) +
                 " tracked object(s) alive at the end of the execution";
  }
  return e;
}

// DFS: moves the trail to the next unexplored schedule. False when done.
bool advance(std::vector<decision>& trail) {
  while (!trail.empty() && trail.back().choice + 1 >= trail.back().count) trail.pop_back();
  if (trail.empty()) return false;
  ++trail.back().choice;
  return true;
}

}  // namespace

std::string report::describe() const {
  std::ostringstream out;
  out << executions << " execution(s), " << (complete ? "complete" : "incomplete");
  if (failed) out << "; FAILED: " << failure << "; schedule: " << schedule_string(schedule);
  return out.str();
}

report explore(const options& opts, const std::function<void()>& body) {
  explorer_state state;
  state.opts = opts;
  // BRIGADE_MODEL_PREEMPTIONS=n: a deeper (slower) search, for bug hunting.
  if (const char* env = std::getenv("BRIGADE_MODEL_PREEMPTIONS");
      env != nullptr && opts.replay.empty()) {
    state.opts.preemption_bound = std::atoi(env);
    state.opts.max_executions = ~std::uint64_t{0};
  }
  state.rng.seed(opts.seed);
  state.how = !opts.replay.empty()    ? mode::replay
              : opts.random_schedules ? mode::random
                                      : mode::dfs;
  g_state = &state;
  report r;
  for (;;) {
    std::unique_ptr<execution> e = run_once(body);
    ++r.executions;
    if (e->failed) {
      r.failed = true;
      r.failure = e->failure;
      r.schedule = e->choices;
      // Its parked threads still refer to it: keep it, reachable (so
      // LeakSanitizer does not report it), for the life of the process.
      static auto* graveyard = new std::vector<std::unique_ptr<execution>>;
      graveyard->push_back(std::move(e));
      break;
    }
    if (state.how == mode::replay) {
      r.complete = true;
      break;
    }
    if (state.how == mode::random) {
      if (r.executions >= opts.random_schedules) {
        r.complete = true;
        break;
      }
      continue;
    }
    if (!advance(state.trail)) {
      r.complete = true;
      break;
    }
    if (r.executions >= opts.max_executions) break;
  }
  g_state = nullptr;
  std::fprintf(stderr, "[model] %s\n", r.describe().c_str());
  return r;
}

thread::thread(std::function<void()> fn) {
  mthread* me = tl_self;
  if (me == nullptr) {
    std::fprintf(stderr, "model::thread created outside a model execution\n");
    std::abort();
  }
  id_ = start_thread(std::move(fn));
  switch_point(me, false);
}

thread::~thread() {
  if (!joined_ && tl_self != nullptr) {
    fail_execution(tl_self, "model::thread destroyed without join");
  }
}

void thread::join() {
  mthread* me = tl_self;
  execution& e = *g_state->exec;
  joined_ = true;
  switch_point(me, false);
  if (e.threads[static_cast<std::size_t>(id_)]->finished) return;
  me->join_target = id_;
  switch_point(me, false);  // not enabled until the target finishes
  me->join_target = -1;
}

void check(bool ok, const char* what, const char* file, int line) {
  if (ok) return;
  std::string why =
      std::string("MODEL_CHECK(") + what + ") failed at " + file + ":" + std::to_string(line);
  if (tl_self == nullptr) {
    std::fprintf(stderr, "%s (outside a model execution)\n", why.c_str());
    std::abort();
  }
  fail_execution(tl_self, std::move(why));
}

void yield() {
  if (mthread* me = tl_self) switch_point(me, true);
}

bool in_model() noexcept { return tl_self != nullptr; }

std::uint64_t blocks() noexcept {
  return g_state != nullptr && g_state->exec != nullptr ? g_state->exec->blocks : 0;
}

tracked::tracked() noexcept {
  if (g_state != nullptr) ++g_state->tracked_live;
}
tracked::tracked(const tracked&) noexcept : tracked() {}
tracked::~tracked() {
  if (g_state != nullptr) --g_state->tracked_live;
}
std::int64_t tracked::live() noexcept { return g_state != nullptr ? g_state->tracked_live : 0; }

}  // namespace brigade::model

// ---- the hooks detail/model_atomic.hpp calls ----
namespace brigade::detail::model_hooks {

void point() noexcept {
  if (model::mthread* me = model::tl_self) model::switch_point(me, false);
}

void yield() noexcept {
  if (model::mthread* me = model::tl_self) model::switch_point(me, true);
}

void block(const void* addr) noexcept {
  model::mthread* me = model::tl_self;
  if (me == nullptr) {
    std::fprintf(stderr, "detail::atomic::wait would block outside a model execution\n");
    std::abort();
  }
  me->blocked_on = addr;
  ++model::g_state->exec->blocks;
  model::switch_point(me, false);  // not enabled until notified
}

void notify(const void* addr, bool all) noexcept {
  if (model::tl_self == nullptr) return;
  for (auto& t : model::g_state->exec->threads) {
    if (t->blocked_on == addr) {
      t->blocked_on = nullptr;
      if (!all) return;
    }
  }
}

}  // namespace brigade::detail::model_hooks

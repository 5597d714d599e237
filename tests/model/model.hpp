#pragma once
// A small schedule explorer for brigade's lock-free core (RELIABILITY.md R1;
// docs/design/model-checking.md).
//
// explore(options, body) runs `body` many times. Inside it, model::thread
// starts model threads; each is a real std::thread, but a baton lets exactly
// one run at a time, and it only changes hands at scheduling points: every
// operation on a detail::atomic (the model build's atomics, see
// detail/model_atomic.hpp), thread start and join, spin_pause/spin_yield.
// Every execution is a sequence of such steps; the explorer enumerates them
// depth-first with a CHESS-style preemption bound (switching away from a
// thread that could continue costs one preemption; switching away from one
// that blocked, finished or spins is free), and replays a schedule prefix
// deterministically to reach the next one.
//
// An execution fails on: a MODEL_CHECK that does not hold, an exception
// escaping a model thread, a deadlock (threads left but none can run: a lost
// wake-up), a step limit (livelock), or tracked objects still alive at its
// end (a leak). The first failure stops the search and is reported with its
// schedule, which options::replay runs again.
//
// Test bodies must be deterministic: same schedule, same behaviour.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace brigade::model {

struct options {
  /// Preemptions allowed per execution (CHESS bound). The environment
  /// variable BRIGADE_MODEL_PREEMPTIONS overrides it (and lifts
  /// max_executions) for a deeper search by hand.
  int preemption_bound = 2;
  /// Safety net: stop after this many executions (report.complete false).
  std::uint64_t max_executions = 500'000;
  /// Scheduling points in one execution before it counts as a livelock.
  std::uint64_t max_steps = 100'000;
  /// Non-zero: run this many random schedules (seeded) instead of DFS.
  std::uint64_t random_schedules = 0;
  std::uint64_t seed = 1;
  /// Non-empty: run only this schedule (a report's `schedule`).
  std::vector<std::uint32_t> replay;
};

struct report {
  std::uint64_t executions = 0;
  /// DFS visited every schedule within the bound (or all random runs ran).
  bool complete = false;
  bool failed = false;
  std::string failure;
  /// The failing execution's choices (indices, see options::replay).
  std::vector<std::uint32_t> schedule;
  /// Printable: "failure ... schedule: 0,1,0".
  std::string describe() const;
};

/// Runs `body` under every schedule (see above). One explore at a time.
report explore(const options& opts, const std::function<void()>& body);

/// A model thread. Must be joined before the body returns.
class thread {
 public:
  explicit thread(std::function<void()> fn);
  thread(const thread&) = delete;
  thread& operator=(const thread&) = delete;
  ~thread();
  /// Waits (in the model) for the thread to finish.
  void join();

 private:
  int id_;
  bool joined_ = false;
};

/// Fails the current execution when `ok` is false.
void check(bool ok, const char* what, const char* file, int line);
#define MODEL_CHECK(cond) ::brigade::model::check((cond), #cond, __FILE__, __LINE__)

/// A scheduling point that spins (as spin_pause).
void yield();

/// Times a model thread blocked in atomic::wait so far in the current
/// execution: lets a test tell "waited and was woken" from "found it ready".
std::uint64_t blocks() noexcept;

/// True on a model thread of a running execution.
bool in_model() noexcept;

/// Objects that must be gone when an execution ends: explore() fails an
/// execution that leaves any of them alive (a leak).
struct tracked {
  tracked() noexcept;
  tracked(const tracked&) noexcept;
  ~tracked();
  tracked& operator=(const tracked&) noexcept = default;
  static std::int64_t live() noexcept;
};

}  // namespace brigade::model

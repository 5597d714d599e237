#pragma once
// The scenarios of the kitchen analogy, each runnable in three models:
//
//   synchronous        one cook who does one thing at a time: a wait is a
//                      std::this_thread::sleep_for that holds the thread;
//   async, one thread  a current_thread runtime: the cook starts every job,
//                      sets timers and does the work in between;
//   async, N cooks     a multi_thread runtime with N workers running the
//                      same coroutines (tasks migrate between cooks).
//
// Time is scaled: a "minute" of the story is plan::minute of real time.
// Waits are real timers (brigade::sleep / interval); work is a real busy
// loop (busy_for: wall time, so the story keeps its length on a loaded
// machine), so CPU time and threads are honest too.
//
//   eggs and toast  2 eggs, 3 min each in the one pan (a brigade::mutex:
//                   cooks take turns), toast 4 min, and 6 chores of 0.4 min
//                   of work to clean the kitchen, one per minute (a chore,
//                   then a timer until the next minute).
//   dinner          the friend goes to buy pasta (8 min: a task you spawn
//                   and await) while you make the sauce (1 min of chopping,
//                   6 min simmering) and drinks (1 min); then the pasta
//                   boils (4 min).
//   theatre         the queue at the counter (5 min) with 4 selfies of 0.5
//                   min taken while you wait: 5 minutes instead of 7.

#include "measure.hpp"
#include "timeline.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace brigade::app {

enum class kitchen_model : unsigned char { synchronous, async_one_thread, async_many_cooks };
enum class kitchen_scenario : unsigned char { eggs_and_toast, dinner, theatre };

inline constexpr kitchen_model all_kitchen_models[] = {
    kitchen_model::synchronous, kitchen_model::async_one_thread, kitchen_model::async_many_cooks};
inline constexpr kitchen_scenario all_kitchen_scenarios[] = {
    kitchen_scenario::eggs_and_toast, kitchen_scenario::dinner, kitchen_scenario::theatre};

struct kitchen_plan {
  std::chrono::nanoseconds minute = std::chrono::milliseconds(10);
  std::size_t cooks = 2;  ///< workers of the multi_thread model
};

/// What a scenario takes, in story minutes.
struct scenario_minutes {
  double one_after_another = 0;  ///< every wait and every job in sequence
  double overlapped = 0;         ///< the longest chain of waits that must follow each other
  double work = 0;               ///< CPU work in it (cooks can share it)
};

struct kitchen_run {
  run_meter::figures figures;
  timeline trace;
};

/// Runs `s` in model `m` on the calling thread (which must not drive a
/// runtime). Throws: what the runtime throws.
kitchen_run run_kitchen(kitchen_scenario s, kitchen_model m, const kitchen_plan& plan);

scenario_minutes minutes_of(kitchen_scenario s) noexcept;
std::string scenario_name(kitchen_scenario s);
/// The JSON key of the scenario ("eggs_and_toast").
std::string scenario_key(kitchen_scenario s);
std::string model_name(kitchen_model m, const kitchen_plan& plan);
/// The JSON key of the model ("synchronous", "async_one_thread", "async_many_cooks").
std::string model_key(kitchen_model m);

}  // namespace brigade::app

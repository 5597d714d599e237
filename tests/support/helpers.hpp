#pragma once
// Small helpers shared by the api and stress tests.

#include <brigade/join_handle.hpp>
#include <brigade/runtime.hpp>
#include <brigade/runtime_options.hpp>
#include <brigade/spawn.hpp>
#include <brigade/task.hpp>
#include <brigade/testing/test.hpp>

#include "support/manual_event.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace brigade::testing {

/// Runs `f(flavor)` for each flavor that BRIGADE_TEST_FLAVOR selects, with a
/// SCOPED_TRACE naming it: for plain TESTs that build their own runtime.
template <class F>
void for_each_flavor(F&& f) {
  for (flavor fl : {flavor::current_thread, flavor::multi_thread}) {
    if (!flavor_selected(fl)) continue;
    SCOPED_TRACE(flavor_name(fl));
    f(fl);
  }
}

/// Options for a plain test's runtime: as BRIGADE_TEST's.
inline runtime_options options_for(flavor f) { return test_options(f); }

/// metrics().live_tasks once it reaches 0, or its value after ~5 s. A task
/// is seen finished (join_handle::is_finished, block_on returning) a moment
/// before the worker that completed it takes it out of the registry.
inline std::size_t live_tasks_settled(runtime& rt) {
  for (int i = 0; i < 5000 && rt.metrics().live_tasks != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return rt.metrics().live_tasks;
}

/// The line of a runtime::dump_tasks() text that names the task `name`
/// (empty when no task has that name).
inline std::string dump_line_of(const std::string& dump, const std::string& name) {
  const std::size_t at = dump.find("'" + name + "'");
  if (at == std::string::npos) return {};
  const std::size_t begin = dump.rfind('\n', at);
  const std::size_t end = dump.find('\n', at);
  const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
  return dump.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

/// Yields until the current runtime's dump_tasks() shows the task named
/// `name` idle and waiting on `where` ("read fd 7", "task_group", ...: the
/// text after " on "), or until ~10 s passed; true when it did. A fixed
/// number of yields is no such wait: on multi_thread the task may run late
/// on another worker when the machine is loaded.
inline task<bool> until_parked(std::string name, std::string where) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  const std::string want = " on " + where;
  for (;;) {
    co_await yield_now();
    if (dump_line_of(current_runtime().dump_tasks(), name).find(want) != std::string::npos) {
      co_return true;
    }
    if (std::chrono::steady_clock::now() > give_up) co_return false;
  }
}

/// Yields until at least `n` tasks are parked on `ev` (no wall clock: the
/// loop only gives the other tasks turns).
inline task<> until_waiters(manual_event& ev, std::size_t n) {
  while (ev.waiters() < n) co_await yield_now();
}

/// Yields until the task behind `h` completed, without taking its result.
template <class T>
task<> until_finished(join_handle<T>& h) {
  while (!h.is_finished()) co_await yield_now();
}

/// Parks until `ev` is set, then returns `value`.
inline task<int> parked_value(manual_event& ev, int value) {
  co_await ev.wait();
  co_return value;
}

/// A coroutine that starts at once and runs to completion on the calling
/// thread, outside any runtime: it lets a test co_await an awaitable where
/// no task is running. It records the exception that escaped the body.
struct eager {
  /// The coroutine's parameters must include a std::exception_ptr& (for a
  /// lambda, after the closure object): the escaped exception goes there.
  struct promise_type {
    std::exception_ptr* error = nullptr;
    template <class... Args>
    explicit promise_type(Args&... args) noexcept {
      (find_error(args), ...);
    }
    template <class A>
    void find_error(A& a) noexcept {
      if constexpr (std::is_same_v<A, std::exception_ptr>) error = &a;
    }
    eager get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      if (error != nullptr) *error = std::current_exception();
    }
  };
};

/// Sets an environment variable for a scope and restores it afterwards.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// What an unhandled_exception hook saw. Install with `hook()`.
class failure_log {
 public:
  struct entry {
    std::string name;
    std::string file;
    std::uint_least32_t line = 0;
    std::string what;
  };

  /// A hook for runtime_options::unhandled_exception that records into this
  /// log and sets `reported` (so a task can wait for the report).
  std::function<void(std::exception_ptr, const task_info&)> hook() {
    return [this](std::exception_ptr e, const task_info& info) {
      entry en{std::string(info.name), info.location.file_name(), info.location.line(), {}};
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        en.what = ex.what();
      } catch (...) {
        en.what = "(unknown)";
      }
      {
        std::lock_guard lock(mutex_);
        entries_.push_back(std::move(en));
      }
      reported.set();
    };
  }

  std::vector<entry> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

  manual_event reported;

 private:
  mutable std::mutex mutex_;
  std::vector<entry> entries_;
};

/// True when `path` names the file `name` (any directory).
inline bool is_file(const std::string& path, const std::string& name) {
  return path.size() >= name.size() &&
         path.compare(path.size() - name.size(), name.size(), name) == 0 &&
         (path.size() == name.size() || path[path.size() - name.size() - 1] == '/');
}

}  // namespace brigade::testing

namespace brigade {
/// GoogleTest prints flavors in parameterized test names by name.
inline void PrintTo(flavor f, std::ostream* os) { *os << testing::flavor_name(f); }
}  // namespace brigade

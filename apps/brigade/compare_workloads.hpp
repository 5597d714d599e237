#pragma once
// The workloads of `brigade compare`: one batch of jobs, run in four models.
//
//   synchronous      the jobs one after another on the main thread; a wait
//                    is a sleep_for that holds the thread
//   async, 1 thread  a current_thread runtime: a task per job, the waits
//                    overlap, the CPU work takes turns on one thread
//   thread per job   a std::thread per job (the classic "thread per request")
//   async, pool      a multi_thread runtime (the work-stealing pool, one
//                    worker per core by default): waits overlap and CPU work
//                    spreads over the cores
//
// A job is: a wait (the I/O-bound part), then a hash (FNV-1a over a 4 KiB
// block, `hash_rounds` times: the CPU-bound part); either may be zero. The
// wait is a timer, or, for the first `requests` jobs, a request/response
// exchange over loopback TCP with an in-process server that answers after
// the same delay (loopback_server.hpp): blocking sockets in the thread
// models, brigade::net::tcp_stream in the async ones. Every model computes
// the same checksum (the replies and hashes), which proves they all did the
// same work.

#include "measure.hpp"
#include "timeline.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace brigade::app {

enum class load_kind : unsigned char { io, cpu, mixed };
enum class exec_model : unsigned char { synchronous, async_one_thread, thread_per_job, async_pool };

inline constexpr load_kind all_loads[] = {load_kind::io, load_kind::cpu, load_kind::mixed};
inline constexpr exec_model all_exec_models[] = {
    exec_model::synchronous, exec_model::async_one_thread, exec_model::thread_per_job,
    exec_model::async_pool};

struct load_plan {
  load_kind kind = load_kind::io;
  std::size_t jobs = 0;
  std::chrono::nanoseconds wait{0};  ///< per job; 0: none
  std::size_t requests = 0;          ///< jobs (the first ones) whose wait is a TCP request
  std::size_t hash_rounds = 0;       ///< per job; 0: none
  std::size_t workers = 2;           ///< of the pool
  std::string trace_path;            ///< async models: also write a Chrome trace there
};

struct load_run {
  run_meter::figures figures;
  timeline trace;
  std::uint64_t checksum = 0;
};

/// Runs `plan` in `model` on the calling thread (which must not drive a
/// runtime); starts the loopback server first when plan.requests > 0.
/// Throws: what the runtime, std::thread or a socket throws.
load_run run_load(const load_plan& plan, exec_model model);

/// Hash rounds that take about `target` of CPU on this machine and build.
std::size_t calibrate_hash_rounds(std::chrono::nanoseconds target);

std::string load_name(load_kind k);
std::string load_key(load_kind k);
std::string exec_model_name(exec_model m, std::size_t workers);
std::string exec_model_key(exec_model m);

}  // namespace brigade::app

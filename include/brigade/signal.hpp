#pragma once
// brigade::signal: wait for a Unix signal in a task (signalfd).

#include <brigade/task.hpp>

#include <csignal>

namespace brigade::signal {

/// Blocks `signo` in the calling thread, so that it is not delivered the
/// default way (SIGINT would end the process) but queued for signalfd.
/// Call it in main before creating runtimes or other threads: threads
/// inherit the mask, and a thread that does not block the signal may take
/// it. Throws std::system_error.
void block(int signo);

/// Waits until `signo` is delivered to the process.
///
/// Each call opens a signalfd for `signo` and blocks the signal in the
/// calling worker (see block() for the process-wide part). A delivered
/// signal is consumed by one waiter: with several concurrent waiters for the
/// same signal, each delivery wakes one of them.
///
/// Resumes on: a worker of the current runtime.
/// Cancellation: total: an aborted wait throws brigade::cancelled and
/// consumes no signal.
/// Thread safety: any number of tasks may wait, for any signals.
/// Throws: std::system_error (signalfd); std::invalid_argument for a bad
/// signal number; std::logic_error outside a task.
/// Example:
///   brigade::signal::block(SIGINT);                 // in main, first
///   ...
///   co_await brigade::signal::received(SIGINT);     // in a task
task<> received(int signo);

}  // namespace brigade::signal

#pragma once
// brigade::process: spawn a child process with piped stdin/stdout/stderr
// and await its exit status (pidfd).

#include <brigade/detail/io_registration.hpp>
#include <brigade/net/unix_stream.hpp>
#include <brigade/task.hpp>

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace brigade::process {

/// What a child's stdin/stdout/stderr is connected to.
enum class stdio : std::uint8_t {
  inherit,  ///< the parent's
  piped,    ///< a stream the parent reads/writes (child::stdin_pipe() ...)
  null,     ///< /dev/null
};

struct spawn_options {
  /// argv: the program (looked up in PATH) and its arguments.
  std::vector<std::string> args;
  stdio in = stdio::inherit;
  stdio out = stdio::inherit;
  stdio err = stdio::inherit;
};

/// How a child ended.
struct exit_status {
  int code = 0;    ///< exit code when it exited
  int signal = 0;  ///< the signal that killed it, or 0
  bool success() const noexcept { return signal == 0 && code == 0; }
};

/// A running (or finished) child process.
///
/// Piped stdio is a connected AF_UNIX stream per direction (it behaves as a
/// pipe for the child; for the parent it is a brigade::net::unix_stream, so a
/// vanished child is EPIPE, never SIGPIPE). Close stdin (close() or
/// shutdown_write()) to send EOF.
///
/// Resumes on: a worker of the current runtime.
/// Cancellation: wait() is total: an aborted wait throws brigade::cancelled
/// and the child keeps running (wait again later).
/// Thread safety: one task waits at a time; the pipes follow unix_stream.
/// Throws: std::system_error ("spawn /bin/nope: No such file or
/// directory"); std::invalid_argument for empty args.
/// A child destroyed unwaited is reaped if it already exited; otherwise it
/// runs on and is reaped by nobody (a zombie until this process exits).
/// Example:
///   auto c = brigade::process::spawn({.args = {"cat"}, .in = piped, .out = piped});
///   co_await c.stdin_pipe().write_all("hi");
///   c.stdin_pipe().close();
///   auto status = co_await c.wait();
class child {
 public:
  child() noexcept = default;
  child(child&& other) noexcept;
  child& operator=(child&& other) noexcept;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child();

  pid_t pid() const noexcept { return pid_; }
  /// The parent's ends of piped stdio (closed streams when not piped).
  net::unix_stream& stdin_pipe() noexcept { return in_; }
  net::unix_stream& stdout_pipe() noexcept { return out_; }
  net::unix_stream& stderr_pipe() noexcept { return err_; }

  /// Waits for the child to exit; returns the same status when called again.
  task<exit_status> wait();
  /// Sends `signo` to the child (unless it was already reaped).
  /// Throws std::system_error.
  void kill(int signo);

 private:
  friend child spawn(const spawn_options& options);
  pid_t pid_ = -1;
  brigade::detail::io_registration pidfd_;
  std::optional<exit_status> status_;
  net::unix_stream in_;
  net::unix_stream out_;
  net::unix_stream err_;
};

/// Starts a child process (posix_spawnp). Inside a runtime.
child spawn(const spawn_options& options);

}  // namespace brigade::process

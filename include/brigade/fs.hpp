#pragma once
// brigade::fs: files from tasks, without blocking a worker. On the io_uring
// backend, file::read_at/write_at/append/fsync are native ring operations
// (IORING_OP_READ/WRITE/FSYNC); everything else (open, size, the whole-file
// helpers), and everything on epoll, runs on the runtime's blocking pool
// (spawn_blocking).

#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <cstdint>
#include <string>

namespace brigade::fs {

/// The whole file as a string.
///
/// Resumes on: a worker of the current runtime.
/// Cancellation: partial: the await throws brigade::cancelled, the read
/// finishes on the pool and is dropped (no caller memory is touched).
/// Thread safety: any number of concurrent calls.
/// Throws: std::system_error ("open /etc/nope: No such file or directory").
/// Example: std::string text = co_await brigade::fs::read_file("/etc/hostname");
task<std::string> read_file(std::string path);

/// Creates or truncates `path` and writes `data` (mode 0644).
/// Cancellation: partial: the write may still happen after the await threw.
/// Throws: std::system_error.
task<> write_file(std::string path, std::string data);

/// How file::open opens a file.
enum class open_mode : std::uint8_t {
  read,        ///< existing file, read only
  write,       ///< create or truncate, write only
  append,      ///< create if missing, every write goes to the end
  read_write,  ///< create if missing, read and write
};

/// An open file. Positional reads and writes (read_at/write_at) need no
/// shared cursor, so concurrent operations on one file are allowed.
///
/// Resumes on: a worker of the current runtime.
/// Cancellation: partial. On the blocking pool a cancelled operation
/// completes on the pool and its result is dropped; pool operations copy
/// through buffers of their own. On io_uring the operation reads/writes the
/// caller's buffer directly and a cancelled await first waits for the
/// kernel's completion (the kernel may finish it anyway: then the await
/// returns normally). Either way the caller's memory is never written after
/// the await ended.
/// Thread safety: concurrent operations are fine; close() and destruction
/// only when none is in progress.
/// Throws: std::system_error with the operation and path.
/// Example:
///   auto f = co_await brigade::fs::file::open("log.txt", brigade::fs::open_mode::append);
///   co_await f.append("line\n");
///   co_await f.fsync();
class file {
 public:
  file() noexcept = default;
  file(file&& other) noexcept;
  file& operator=(file&& other) noexcept;
  file(const file&) = delete;
  file& operator=(const file&) = delete;
  ~file() { close(); }

  static task<file> open(std::string path, open_mode mode);

  /// Reads at most buf.size() bytes (at most 1 GiB per call on io_uring) at
  /// `offset`; 0 at end of file.
  task<std::size_t> read_at(net::mutable_buffer buf, std::uint64_t offset);
  /// Writes all of buf at `offset`.
  task<> write_at(net::const_buffer buf, std::uint64_t offset);
  /// Writes all of buf at the end of the file (open_mode::append; native on
  /// io_uring), or at the current end otherwise (blocking pool).
  task<> append(net::const_buffer buf);
  task<> fsync();
  task<std::uint64_t> size();

  void close() noexcept;
  bool is_open() const noexcept { return fd_ >= 0; }
  const std::string& path() const noexcept { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace brigade::fs

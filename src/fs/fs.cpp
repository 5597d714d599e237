// brigade::fs: native on io_uring (file::read_at/write_at/append/fsync as
// IORING_OP_READ/WRITE/FSYNC, src/io/completion.hpp), on the blocking pool
// otherwise and for open, stat and the whole-file helpers.
//
// Pool jobs are named lambdas handed to spawn_blocking outside the co_await
// expression: g++ 12 destroys a lambda temporary inside a co_await
// expression twice. They own their buffers (copies), so a cancelled await
// leaves nothing pointing into the caller's memory. Native operations use
// the caller's buffer directly: their await never ends before the kernel's
// completion (a cancel waits for it), so the buffer is not written later.

#include <brigade/fs.hpp>
#include <brigade/spawn_blocking.hpp>

#include "io/completion.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace brigade::fs {

namespace {

[[noreturn]] void fail(const char* op, const std::string& path) {
  throw std::system_error(errno, std::system_category(), std::string(op) + " " + path);
}

int open_fd(const std::string& path, int flags) {
  for (;;) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EINTR) fail("open", path);
  }
}

void write_all_at(int fd, const char* data, std::size_t size, std::int64_t offset,
                  const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = offset < 0 ? ::write(fd, data + done, size - done)
                                 : ::pwrite(fd, data + done, size - done,
                                            offset + static_cast<std::int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

// The current runtime's I/O core when it runs file operations itself
// (io_uring), else nullptr (the blocking pool does).
std::shared_ptr<detail::reactor> native_core() {
  std::shared_ptr<detail::reactor> core = detail::current_reactor("brigade::fs");
  if (!core->supports_completions()) core.reset();
  return core;
}

// One read or write (at most 1 GiB: the SQE length is 32 bits) through the
// ring; the syscall's result (>= 0, or -errno).
task<int> ring_rw(detail::reactor& core, detail::io_op::kind kind, int fd, const void* data,
                  std::size_t size, std::uint64_t offset) {
  detail::completion_awaiter op{core, detail::io_op{.op = kind,
                                                    .fd = fd,
                                                    .data = const_cast<void*>(data),
                                                    .size = std::min<std::size_t>(size, 1u << 30),
                                                    .offset = offset}};
  co_return co_await op;
}

// Writes all of data at offset (or, with offset -1, at the file position:
// the end for O_APPEND) through the ring.
task<> ring_write_all(detail::reactor& core, int fd, const std::byte* data, std::size_t size,
                      std::uint64_t offset, const std::string& path) {
  constexpr std::uint64_t at_position = ~std::uint64_t{0};
  std::size_t done = 0;
  while (done < size) {
    const int r = co_await ring_rw(core, detail::io_op::kind::write, fd, data + done, size - done,
                                   offset == at_position ? at_position : offset + done);
    if (r == -EINTR || r == -EAGAIN) continue;
    if (r < 0) {
      errno = -r;
      fail("write", path);
    }
    done += static_cast<std::size_t>(r);
  }
}

}  // namespace

task<std::string> read_file(std::string path) {
  auto job = [path = std::move(path)] {
    const int fd = open_fd(path, O_RDONLY);
    std::string out;
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        errno = err;
        fail("read", path);
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  };
  auto pending = spawn_blocking(std::move(job));
  co_return co_await pending;
}

task<> write_file(std::string path, std::string data) {
  auto job = [path = std::move(path), data = std::move(data)] {
    const int fd = open_fd(path, O_WRONLY | O_CREAT | O_TRUNC);
    try {
      write_all_at(fd, data.data(), data.size(), -1, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  };
  auto pending = spawn_blocking(std::move(job));
  co_await pending;
}

file::file(file&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

void file::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

task<file> file::open(std::string path, open_mode mode) {
  int flags = O_RDONLY;
  switch (mode) {
    case open_mode::read:
      break;
    case open_mode::write:
      flags = O_WRONLY | O_CREAT | O_TRUNC;
      break;
    case open_mode::append:
      flags = O_WRONLY | O_CREAT | O_APPEND;
      break;
    case open_mode::read_write:
      flags = O_RDWR | O_CREAT;
      break;
  }
  auto job = [path, flags] { return open_fd(path, flags); };
  auto pending = spawn_blocking(std::move(job));
  file f;
  f.fd_ = co_await pending;
  f.path_ = std::move(path);
  co_return f;
}

task<std::size_t> file::read_at(net::mutable_buffer buf, std::uint64_t offset) {
  if (auto core = native_core()) {
    for (;;) {
      const int r =
          co_await ring_rw(*core, detail::io_op::kind::read, fd_, buf.data(), buf.size(), offset);
      if (r >= 0) co_return static_cast<std::size_t>(r);
      if (r == -EINTR || r == -EAGAIN) continue;
      errno = -r;
      fail("read", path_);
    }
  }
  auto job = [fd = fd_, size = buf.size(), offset, path = path_] {
    std::vector<char> tmp(size);
    for (;;) {
      const ssize_t n = ::pread(fd, tmp.data(), size, static_cast<off_t>(offset));
      if (n >= 0) {
        tmp.resize(static_cast<std::size_t>(n));
        return tmp;
      }
      if (errno != EINTR) fail("read", path);
    }
  };
  auto pending = spawn_blocking(std::move(job));
  const std::vector<char> got = co_await pending;
  std::memcpy(buf.data(), got.data(), got.size());
  co_return got.size();
}

task<> file::write_at(net::const_buffer buf, std::uint64_t offset) {
  if (auto core = native_core()) {
    co_await ring_write_all(*core, fd_, buf.data(), buf.size(), offset, path_);
    co_return;
  }
  std::vector<char> copy(reinterpret_cast<const char*>(buf.data()),
                         reinterpret_cast<const char*>(buf.data()) + buf.size());
  auto job = [fd = fd_, copy = std::move(copy), offset, path = path_] {
    write_all_at(fd, copy.data(), copy.size(), static_cast<std::int64_t>(offset), path);
  };
  auto pending = spawn_blocking(std::move(job));
  co_await pending;
}

task<> file::append(net::const_buffer buf) {
  if (auto core = native_core(); core && (::fcntl(fd_, F_GETFL) & O_APPEND) != 0) {
    // offset -1: the file position, which O_APPEND puts at the end.
    co_await ring_write_all(*core, fd_, buf.data(), buf.size(), ~std::uint64_t{0}, path_);
    co_return;
  }
  std::vector<char> copy(reinterpret_cast<const char*>(buf.data()),
                         reinterpret_cast<const char*>(buf.data()) + buf.size());
  auto job = [fd = fd_, copy = std::move(copy), path = path_] {
    if ((::fcntl(fd, F_GETFL) & O_APPEND) == 0 && ::lseek(fd, 0, SEEK_END) < 0) fail("seek", path);
    write_all_at(fd, copy.data(), copy.size(), -1, path);
  };
  auto pending = spawn_blocking(std::move(job));
  co_await pending;
}

task<> file::fsync() {
  if (auto core = native_core()) {
    for (;;) {
      detail::completion_awaiter op{*core,
                                    detail::io_op{.op = detail::io_op::kind::fsync, .fd = fd_}};
      const int r = co_await op;
      if (r == 0) co_return;
      if (r != -EINTR) {
        errno = -r;
        fail("fsync", path_);
      }
    }
  }
  auto job = [fd = fd_, path = path_] {
    if (::fsync(fd) != 0) fail("fsync", path);
  };
  auto pending = spawn_blocking(std::move(job));
  co_await pending;
}

task<std::uint64_t> file::size() {
  auto job = [fd = fd_, path = path_] {
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("stat", path);
    return static_cast<std::uint64_t>(st.st_size);
  };
  auto pending = spawn_blocking(std::move(job));
  co_return co_await pending;
}

}  // namespace brigade::fs

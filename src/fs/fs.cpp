// brigade::fs on the blocking pool.
//
// Every job is a named lambda handed to spawn_blocking outside the co_await
// expression: g++ 12 destroys a lambda temporary inside a co_await
// expression twice. Jobs own their buffers (copies), so a cancelled await
// leaves nothing pointing into the caller's memory.

#include <brigade/fs.hpp>
#include <brigade/spawn_blocking.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
  std::vector<char> copy(reinterpret_cast<const char*>(buf.data()),
                         reinterpret_cast<const char*>(buf.data()) + buf.size());
  auto job = [fd = fd_, copy = std::move(copy), offset, path = path_] {
    write_all_at(fd, copy.data(), copy.size(), static_cast<std::int64_t>(offset), path);
  };
  auto pending = spawn_blocking(std::move(job));
  co_await pending;
}

task<> file::append(net::const_buffer buf) {
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

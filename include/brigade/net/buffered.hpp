#pragma once
// brigade::net::buffered_reader / buffered_writer: buffering over any stream
// with read()/write_all() (tcp_stream, unix_stream), and line helpers.

#include <brigade/net/buffer.hpp>
#include <brigade/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace brigade::net {

/// Reads a stream through a buffer: read_until / read_line without one
/// system call per byte.
///
/// Resumes on: as the underlying stream.
/// Cancellation: partial but lossless: bytes already read stay in the
/// buffer, so a cancelled read_line can be retried and returns the whole
/// line.
/// Thread safety: one task at a time.
/// Throws: what the stream throws; std::length_error when a line exceeds
/// max_line (the buffered bytes are kept).
/// Example:
///   brigade::net::buffered_reader r{stream};
///   while (auto line = co_await r.read_line()) handle(*line);
template <class Stream>
class buffered_reader {
 public:
  explicit buffered_reader(Stream& stream, std::size_t capacity = 8192,
                           std::size_t max_line = 1 << 20)
      : stream_(stream), buf_(capacity), max_line_(max_line) {}

  /// Bytes up to and including `delim`; without it when the stream ended
  /// first (the rest); nullopt at end of stream with nothing buffered.
  task<std::optional<std::string>> read_until(char delim) {
    std::size_t scanned = 0;
    for (;;) {
      const char* begin = reinterpret_cast<const char*>(buf_.data()) + start_;
      const std::size_t have = end_ - start_;
      if (const void* hit = std::memchr(begin + scanned, delim, have - scanned)) {
        const std::size_t len = static_cast<const char*>(hit) - begin + 1;
        std::string out(begin, len);
        start_ += len;
        co_return out;
      }
      scanned = have;
      if (have >= max_line_) throw std::length_error("buffered_reader: line too long");
      if (!co_await fill()) {
        if (start_ == end_) co_return std::nullopt;
        // fill() may have moved the bytes: do not use `begin` here.
        std::string out(reinterpret_cast<const char*>(buf_.data()) + start_, end_ - start_);
        start_ = end_ = 0;
        co_return out;
      }
    }
  }

  /// One line without its "\n" (and without a "\r" before it); nullopt at
  /// end of stream.
  task<std::optional<std::string>> read_line() {
    std::optional<std::string> line = co_await read_until('\n');
    if (line && !line->empty() && line->back() == '\n') {
      line->pop_back();
      if (!line->empty() && line->back() == '\r') line->pop_back();
    }
    co_return line;
  }

  /// Buffered bytes first, then the stream; 0 at end of stream.
  task<std::size_t> read(mutable_buffer out) {
    if (start_ == end_ && out.size() >= buf_.size()) co_return co_await stream_.read(out);
    if (start_ == end_ && !co_await fill()) co_return 0;
    const std::size_t n = std::min(out.size(), end_ - start_);
    std::memcpy(out.data(), buf_.data() + start_, n);
    start_ += n;
    co_return n;
  }

  /// Bytes buffered but not yet returned.
  std::size_t buffered() const noexcept { return end_ - start_; }

 private:
  /// Appends what the stream has; false at end of stream.
  task<bool> fill() {
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    const std::size_t n =
        co_await stream_.read(mutable_buffer{buf_.data() + end_, buf_.size() - end_});
    end_ += n;
    co_return n > 0;
  }

  Stream& stream_;
  std::vector<std::byte> buf_;
  std::size_t start_ = 0;
  std::size_t end_ = 0;
  std::size_t max_line_;
};

/// Collects small writes into one buffer and writes them with one call.
///
/// Resumes on: as the underlying stream.
/// Cancellation: partial: a cancelled flush may have written a prefix.
/// Thread safety: one task at a time.
/// Throws: what the stream throws.
/// Example:
///   brigade::net::buffered_writer w{stream};
///   co_await w.write("HTTP/1.1 200 OK\r\n");
///   co_await w.flush();
template <class Stream>
class buffered_writer {
 public:
  explicit buffered_writer(Stream& stream, std::size_t capacity = 8192)
      : stream_(stream), capacity_(capacity) {
    buf_.reserve(capacity);
  }

  /// Buffers `data`; writes through when the buffer would overflow.
  task<> write(const_buffer data) {
    if (buf_.size() + data.size() > capacity_) co_await flush();
    if (data.size() >= capacity_) {
      co_await stream_.write_all(data);
      co_return;
    }
    buf_.insert(buf_.end(), data.data(), data.data() + data.size());
  }

  /// Writes everything buffered.
  task<> flush() {
    if (buf_.empty()) co_return;
    co_await stream_.write_all(const_buffer{buf_.data(), buf_.size()});
    buf_.clear();
  }

  std::size_t buffered() const noexcept { return buf_.size(); }

 private:
  Stream& stream_;
  std::vector<std::byte> buf_;
  std::size_t capacity_;
};

}  // namespace brigade::net

#pragma once
// brigade::net::mutable_buffer / const_buffer: a pointer and a size, made
// implicitly from any contiguous range of bytes (std::string, std::vector of
// char/unsigned char/std::byte, std::array, std::span) so that read(buf) and
// write_all(text) take what callers already have. No ownership.

#include <cstddef>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>

namespace brigade::net {

namespace detail {

template <class R>
concept byte_range = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                         sizeof(std::ranges::range_value_t<R>) == 1 &&
                     std::is_trivially_copyable_v<std::ranges::range_value_t<R>>;

}  // namespace detail

/// Writable bytes (the destination of a read). Does not own them.
class mutable_buffer {
 public:
  constexpr mutable_buffer() noexcept = default;
  mutable_buffer(void* data, std::size_t size) noexcept
      : data_(static_cast<std::byte*>(data)), size_(size) {}
  template <class R>
  requires detail::byte_range<R> &&
      (!std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>)
          mutable_buffer(R&& range) noexcept  // NOLINT(google-explicit-constructor)
      : data_(reinterpret_cast<std::byte*>(std::ranges::data(range))),
        size_(std::ranges::size(range)) {}

  constexpr std::byte* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  /// The bytes from `offset` on (offset <= size()).
  mutable_buffer subspan(std::size_t offset) const noexcept {
    return {data_ + offset, size_ - offset};
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Readable bytes (the source of a write). Does not own them. A string
/// literal converts without its terminating NUL.
class const_buffer {
 public:
  constexpr const_buffer() noexcept = default;
  const_buffer(const void* data, std::size_t size) noexcept
      : data_(static_cast<const std::byte*>(data)), size_(size) {}
  const_buffer(std::string_view text) noexcept  // NOLINT(google-explicit-constructor)
      : data_(reinterpret_cast<const std::byte*>(text.data())), size_(text.size()) {}
  const_buffer(const char* text) noexcept  // NOLINT(google-explicit-constructor)
      : const_buffer(std::string_view{text}) {}
  const_buffer(const std::string& text) noexcept  // NOLINT(google-explicit-constructor)
      : const_buffer(std::string_view{text}) {}
  template <class R>
  requires detail::byte_range<R> &&(!std::is_convertible_v<R, std::string_view>)
      const_buffer(const R& range) noexcept  // NOLINT(google-explicit-constructor)
      : data_(reinterpret_cast<const std::byte*>(std::ranges::data(range))),
        size_(std::ranges::size(range)) {}
  constexpr const_buffer(mutable_buffer b) noexcept  // NOLINT(google-explicit-constructor)
      : data_(b.data()), size_(b.size()) {}

  constexpr const std::byte* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  const_buffer subspan(std::size_t offset) const noexcept {
    return {data_ + offset, size_ - offset};
  }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace brigade::net

#pragma once
// brigade::testing::counted: counts constructions and destructions (static
// atomics), to prove that aborted, cancelled or shut-down tasks destroy their
// frames' locals and parameters exactly once.
//
//   brigade::testing::counted::reset();
//   ... tasks hold counted locals ...
//   EXPECT_EQ(counted::alive(), 0);
//   EXPECT_EQ(counted::destroyed(), counted::constructed());
//
// Give a test its own counters with a tag: basic_counted<struct my_tag>.

#include <atomic>
#include <cstdint>

namespace brigade::testing {

template <class Tag>
class basic_counted {
 public:
  basic_counted() noexcept { constructed_.fetch_add(1, std::memory_order_seq_cst); }
  explicit basic_counted(int value) noexcept : value_(value) {
    constructed_.fetch_add(1, std::memory_order_seq_cst);
  }
  basic_counted(const basic_counted& other) noexcept : value_(other.value_) {
    constructed_.fetch_add(1, std::memory_order_seq_cst);
  }
  basic_counted(basic_counted&& other) noexcept : value_(other.value_) {
    constructed_.fetch_add(1, std::memory_order_seq_cst);
  }
  basic_counted& operator=(const basic_counted&) noexcept = default;
  basic_counted& operator=(basic_counted&&) noexcept = default;
  ~basic_counted() {
    // A second destruction of the same object shows up as a negative alive()
    // count, and under ASan as a use of freed memory.
    destroyed_.fetch_add(1, std::memory_order_seq_cst);
  }

  int value() const noexcept { return value_; }

  // Counters: seq_cst, so that alive() (below) can bound the count while
  // other threads construct and destroy.
  static std::int64_t constructed() noexcept {
    return constructed_.load(std::memory_order_seq_cst);
  }
  static std::int64_t destroyed() noexcept { return destroyed_.load(std::memory_order_seq_cst); }
  /// Never below the true count: destroyed() is read first (a value that
  /// is moved and destroyed between the two reads counts as alive), so a
  /// test that waits for alive() == 0 cannot stop early.
  static std::int64_t alive() noexcept {
    const std::int64_t gone = destroyed();
    return constructed() - gone;
  }
  static void reset() noexcept {
    constructed_.store(0, std::memory_order_seq_cst);
    destroyed_.store(0, std::memory_order_seq_cst);
  }

 private:
  int value_ = 0;
  static inline std::atomic<std::int64_t> constructed_{0};
  static inline std::atomic<std::int64_t> destroyed_{0};
};

using counted = basic_counted<void>;

}  // namespace brigade::testing

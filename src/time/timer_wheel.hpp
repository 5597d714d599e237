#pragma once
// The hierarchical timing wheel (DESIGN §4): 1 ms ticks, 6 levels of 64
// slots. Level L slot s holds the entries whose deadline falls in slot s of
// the level's 64^(L+1) ms window around elapsed_; level 0 slots are 1 ms
// wide, level 5 slots about 12 days, so 64^6 ms (about 2.2 years) is the
// horizon (later deadlines are clamped to it and re-checked when reached).
//
// Each level keeps a 64-bit occupancy mask, so finding the next deadline is
// a rotate and a count of trailing zeros per level, and insert/remove are
// O(1) list operations on an intrusive doubly linked slot list.
//
// Expiring a slot at level > 0 "cascades": its entries move down to the
// level their deadline now falls in, or fire when the deadline is reached.
// Entries fire in deadline order (ties in insertion order per slot).
//
// Not synchronised: time_driver guards it with its lock.

#include <brigade/detail/timer_entry.hpp>

#include <array>
#include <cstdint>
#include <optional>

namespace brigade::detail {

class timer_wheel {
 public:
  static constexpr int levels = 6;
  static constexpr int slot_bits = 6;
  static constexpr std::uint64_t slots = 64;
  static constexpr std::uint64_t max_duration = (std::uint64_t{1} << (slot_bits * levels)) - 1;

  /// Ticks elapsed so far: every deadline at or before it has fired.
  std::uint64_t elapsed() const noexcept { return elapsed_; }

  /// Adds `e` (deadline_tick_ set). Returns false when the deadline is not
  /// after elapsed(): the caller fires it instead.
  bool insert(timer_entry& e) noexcept;
  /// Unlinks a registered entry.
  void remove(timer_entry& e) noexcept;

  /// The earliest tick at which something expires, if anything is pending.
  std::optional<std::uint64_t> next_expiration() const noexcept;

  /// Advances to `now`; returns entries whose deadline is <= now, one at a
  /// time in deadline order (null when none is left). Cascades as it goes.
  timer_entry* poll(std::uint64_t now) noexcept;

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }

 private:
  struct slot_list {
    timer_entry* head = nullptr;
    timer_entry* tail = nullptr;
  };
  struct level {
    std::uint64_t occupied = 0;
    std::array<slot_list, slots> slot{};
  };
  struct expiration {
    int level;
    std::uint64_t slot;
    std::uint64_t deadline;
  };

  static int level_for(std::uint64_t elapsed, std::uint64_t when) noexcept;
  static std::uint64_t slot_for(std::uint64_t when, int lvl) noexcept {
    return (when >> (lvl * slot_bits)) & (slots - 1);
  }
  std::optional<expiration> next_expiration_at(int lvl) const noexcept;
  std::optional<expiration> next_expiration_any() const noexcept;
  void process_expiration(const expiration& exp) noexcept;
  void push(int lvl, timer_entry& e) noexcept;
  static void list_push(slot_list& l, timer_entry& e) noexcept;
  static void list_unlink(slot_list& l, timer_entry& e) noexcept;

  std::array<level, levels> levels_{};
  slot_list pending_;  // expired, not yet handed out by poll()
  std::uint64_t elapsed_ = 0;
  std::size_t count_ = 0;
};

}  // namespace brigade::detail

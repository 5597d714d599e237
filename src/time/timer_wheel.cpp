#include "time/timer_wheel.hpp"

#include <algorithm>
#include <bit>

namespace brigade::detail {

namespace {
constexpr std::uint8_t expired_marker = timer_wheel::levels;
}

int timer_wheel::level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
  // The level is set by the highest bit in which elapsed and the deadline
  // differ: below it they share a window of that level.
  std::uint64_t masked = (elapsed ^ when) | (slots - 1);
  if (masked >= max_duration) masked = max_duration - 1;
  const int significant = 63 - std::countl_zero(masked);
  return significant / slot_bits;
}

void timer_wheel::list_push(slot_list& l, timer_entry& e) noexcept {
  e.next_ = nullptr;
  e.prev_ = l.tail;
  if (l.tail != nullptr) {
    l.tail->next_ = &e;
  } else {
    l.head = &e;
  }
  l.tail = &e;
}

void timer_wheel::list_unlink(slot_list& l, timer_entry& e) noexcept {
  if (e.prev_ != nullptr) {
    e.prev_->next_ = e.next_;
  } else {
    l.head = e.next_;
  }
  if (e.next_ != nullptr) {
    e.next_->prev_ = e.prev_;
  } else {
    l.tail = e.prev_;
  }
  e.next_ = e.prev_ = nullptr;
}

void timer_wheel::push(int lvl, timer_entry& e) noexcept {
  // Deadlines past the horizon are placed at the horizon and re-examined
  // (cascaded again) when it is reached: they never fire early.
  const std::uint64_t when = std::min(e.deadline_tick_, elapsed_ + max_duration);
  const std::uint64_t s = slot_for(when, lvl);
  e.level_ = static_cast<std::uint8_t>(lvl);
  e.slot_ = static_cast<std::uint8_t>(s);
  list_push(levels_[static_cast<std::size_t>(lvl)].slot[s], e);
  levels_[static_cast<std::size_t>(lvl)].occupied |= std::uint64_t{1} << s;
}

bool timer_wheel::insert(timer_entry& e) noexcept {
  if (e.deadline_tick_ <= elapsed_) return false;
  const std::uint64_t when = std::min(e.deadline_tick_, elapsed_ + max_duration);
  push(level_for(elapsed_, when), e);
  ++count_;
  return true;
}

void timer_wheel::remove(timer_entry& e) noexcept {
  if (e.level_ == expired_marker) {
    list_unlink(pending_, e);
  } else {
    level& l = levels_[e.level_];
    slot_list& sl = l.slot[e.slot_];
    list_unlink(sl, e);
    if (sl.head == nullptr) l.occupied &= ~(std::uint64_t{1} << e.slot_);
  }
  --count_;
}

std::optional<timer_wheel::expiration> timer_wheel::next_expiration_at(int lvl) const noexcept {
  const level& l = levels_[static_cast<std::size_t>(lvl)];
  if (l.occupied == 0) return std::nullopt;
  const std::uint64_t slot_range = std::uint64_t{1} << (lvl * slot_bits);
  const std::uint64_t level_range = slot_range << slot_bits;
  const std::uint64_t now_slot = (elapsed_ / slot_range) & (slots - 1);
  const int zeros = std::countr_zero(std::rotr(l.occupied, static_cast<int>(now_slot)));
  const std::uint64_t s = (static_cast<std::uint64_t>(zeros) + now_slot) & (slots - 1);
  const std::uint64_t level_start = elapsed_ & ~(level_range - 1);
  std::uint64_t deadline = level_start + s * slot_range;
  // A slot "before" now can only hold horizon-clamped entries of a later
  // lap (or, at level 0, entries due now): look one window ahead.
  if (deadline < elapsed_ || (deadline == elapsed_ && lvl > 0)) deadline += level_range;
  return expiration{lvl, s, deadline};
}

std::optional<timer_wheel::expiration> timer_wheel::next_expiration_any() const noexcept {
  // Lower levels always expire first: an entry sits at the lowest level
  // whose window holds both elapsed_ and its deadline.
  for (int lvl = 0; lvl < levels; ++lvl) {
    if (auto e = next_expiration_at(lvl)) return e;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
  if (pending_.head != nullptr) return elapsed_;
  if (auto e = next_expiration_any()) return e->deadline;
  return std::nullopt;
}

void timer_wheel::process_expiration(const expiration& exp) noexcept {
  level& l = levels_[static_cast<std::size_t>(exp.level)];
  slot_list taken = l.slot[exp.slot];
  l.slot[exp.slot] = {};
  l.occupied &= ~(std::uint64_t{1} << exp.slot);
  elapsed_ = std::max(elapsed_, exp.deadline);
  timer_entry* e = taken.head;
  while (e != nullptr) {
    timer_entry* next = e->next_;
    if (e->deadline_tick_ <= exp.deadline) {
      e->level_ = expired_marker;
      list_push(pending_, *e);
    } else {
      // Cascade: the entry's deadline is now within a lower level's window.
      const std::uint64_t when = std::min(e->deadline_tick_, elapsed_ + max_duration);
      push(level_for(elapsed_, when), *e);
    }
    e = next;
  }
}

timer_entry* timer_wheel::poll(std::uint64_t now) noexcept {
  for (;;) {
    if (timer_entry* e = pending_.head) {
      list_unlink(pending_, *e);
      --count_;
      return e;
    }
    const auto exp = next_expiration_any();
    if (exp && exp->deadline <= now) {
      process_expiration(*exp);
      continue;
    }
    elapsed_ = std::max(elapsed_, now);
    return nullptr;
  }
}

}  // namespace brigade::detail

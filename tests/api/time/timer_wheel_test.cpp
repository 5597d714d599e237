// The timer wheel on its own (src/time/timer_wheel.hpp): ordering, cascades
// across every level, cancellation, and R7 of RELIABILITY.md: a million
// timers, half cancelled, in virtual time: none early, none lost, none
// cancelled-but-fired, fired in deadline order.

#include "time/timer_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace bd = brigade::detail;

namespace {

std::vector<bd::timer_entry*> drain(bd::timer_wheel& w, std::uint64_t now) {
  std::vector<bd::timer_entry*> out;
  while (bd::timer_entry* e = w.poll(now)) out.push_back(e);
  return out;
}

TEST(TimerWheel, FiresAtDeadlineNotBefore) {
  bd::timer_wheel w;
  bd::timer_entry e;
  e.deadline_tick_ = 100;
  ASSERT_TRUE(w.insert(e));
  EXPECT_TRUE(drain(w, 99).empty());
  ASSERT_EQ(w.next_expiration().value_or(0) <= 100, true);
  const auto fired = drain(w, 100);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], &e);
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, RejectsPastDeadlines) {
  bd::timer_wheel w;
  (void)drain(w, 50);
  bd::timer_entry e;
  e.deadline_tick_ = 50;
  EXPECT_FALSE(w.insert(e));
  e.deadline_tick_ = 51;
  EXPECT_TRUE(w.insert(e));
}

TEST(TimerWheel, CascadesThroughEveryLevel) {
  bd::timer_wheel w;
  // One deadline per level: 64^k + a bit, up to level 5.
  std::vector<bd::timer_entry> entries(6);
  std::uint64_t span = 1;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    entries[k].deadline_tick_ = span * 3 + k;
    span *= 64;
    ASSERT_TRUE(w.insert(entries[k]));
  }
  std::uint64_t now = 0;
  std::size_t fired = 0;
  while (auto next = w.next_expiration()) {
    ASSERT_GE(*next, now) << "time went backwards";
    now = *next;
    for (bd::timer_entry* e : drain(w, now)) {
      EXPECT_LE(e->deadline_tick_, now);
      EXPECT_EQ(e, &entries[fired]) << "out of order";
      ++fired;
    }
  }
  EXPECT_EQ(fired, entries.size());
}

TEST(TimerWheel, BeyondTheHorizonIsClampedNotEarly) {
  bd::timer_wheel w;
  bd::timer_entry e;
  e.deadline_tick_ = bd::timer_wheel::max_duration * 3;
  ASSERT_TRUE(w.insert(e));
  std::uint64_t now = 0;
  while (auto next = w.next_expiration()) {
    now = *next;
    const auto fired = drain(w, now);
    if (!fired.empty()) {
      EXPECT_EQ(fired[0], &e);
      break;
    }
  }
  EXPECT_EQ(now, e.deadline_tick_);
}

TEST(TimerWheel, RemoveFromSlotAndFromExpiredList) {
  bd::timer_wheel w;
  bd::timer_entry a, b, c;
  a.deadline_tick_ = 10;
  b.deadline_tick_ = 10;
  c.deadline_tick_ = 5000;
  ASSERT_TRUE(w.insert(a));
  ASSERT_TRUE(w.insert(b));
  ASSERT_TRUE(w.insert(c));
  w.remove(c);
  bd::timer_entry* first = w.poll(10);  // moves a and b to the expired list
  ASSERT_NE(first, nullptr);
  bd::timer_entry* other = first == &a ? &b : &a;
  w.remove(*other);  // cancel after expiry, before hand-out
  EXPECT_EQ(w.poll(10), nullptr);
  EXPECT_TRUE(w.empty());
  EXPECT_FALSE(w.next_expiration().has_value());
}

TEST(TimerWheel, MillionTimersHalfCancelled) {
  constexpr std::size_t n = 1'000'000;
  std::vector<bd::timer_entry> entries(n);
  std::vector<std::uint8_t> cancelled(n, 0), fired(n, 0);
  std::mt19937_64 rng(12345);
  bd::timer_wheel w;
  std::uint64_t now = 0;
  // Insert in waves while time moves, so entries land on every level.
  for (std::size_t i = 0; i < n; ++i) {
    entries[i].deadline_tick_ = now + 1 + rng() % 5'000'000;
    entries[i].slot_ = 0;
    ASSERT_TRUE(w.insert(entries[i]));
    if (i % 100'000 == 99'999) {
      now += 1000;
      for (bd::timer_entry* e : drain(w, now))
        fired[static_cast<std::size_t>(e - entries.data())] = 1;
    }
  }
  for (std::size_t i = 0; i < n; i += 2) {
    if (fired[i] == 0) {
      w.remove(entries[i]);
      cancelled[i] = 1;
    }
  }
  std::uint64_t last_deadline = 0;
  while (auto next = w.next_expiration()) {
    now = std::max(now, *next);
    for (bd::timer_entry* e : drain(w, now)) {
      const auto i = static_cast<std::size_t>(e - entries.data());
      ASSERT_EQ(cancelled[i], 0) << "cancelled timer fired";
      ASSERT_EQ(fired[i], 0) << "fired twice";
      ASSERT_LE(e->deadline_tick_, now) << "fired early";
      ASSERT_GE(e->deadline_tick_, last_deadline) << "out of deadline order";
      last_deadline = e->deadline_tick_;
      fired[i] = 1;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(fired[i] + cancelled[i], 1) << "timer " << i << " lost";
  }
}

}  // namespace

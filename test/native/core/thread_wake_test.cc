// Unit tests of native/core/control_thread.h (the macOS sessions' control thread) and
// native/core/drain_wake.h (how the capture core's drain sleeps and is woken). Built and run by
// scripts/test-native.sh under ASan + UBSan and under TSan.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "check.h"
#include "core/control_thread.h"
#include "core/drain_wake.h"

using audiotap::ControlThread;
using audiotap::DrainWake;
using Clock = std::chrono::steady_clock;

namespace {

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void WaitUntil(const std::atomic<int>& value, int at_least) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (value.load() < at_least && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void TestStopWithoutStart() {
  ControlThread control;
  control.Stop();
  control.Stop();
  EXPECT(!control.Running());
  EXPECT(!control.Sleep(std::chrono::seconds(10)));  // returns at once: stopped
}

// A loop asleep for 10 s: Stop() wakes it and returns once it has returned, long before.
void TestThreadedStopCutsTheSleepShort() {
  ControlThread control;
  std::atomic<int> passes{0};
  std::atomic<bool> returned{false};
  control.Start([&] {
    while (control.Running()) {
      passes.fetch_add(1);
      control.Sleep(std::chrono::seconds(10));
    }
    returned.store(true);
  });
  WaitUntil(passes, 1);
  const auto start = Clock::now();
  control.Stop();
  EXPECT(MsSince(start) < 2000);
  EXPECT(returned.load());
  EXPECT_EQ(passes.load(), 1);
  control.Stop();  // again: nothing to join
}

// Passes follow each other at the interval until Stop(); none after it.
void TestThreadedPassesUntilStopped() {
  ControlThread control;
  std::atomic<int> passes{0};
  control.Start([&] {
    while (control.Running()) {
      passes.fetch_add(1);
      control.Sleep(std::chrono::milliseconds(1));
    }
  });
  WaitUntil(passes, 5);
  control.Stop();
  const int at_stop = passes.load();
  EXPECT(at_stop >= 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(passes.load(), at_stop);
}

// The destructor stops and joins: a session that throws out of Open leaves no thread behind.
void TestThreadedDestructorJoins() {
  std::atomic<bool> returned{false};
  const auto start = Clock::now();
  {
    ControlThread control;
    control.Start([&] {
      while (control.Running()) control.Sleep(std::chrono::seconds(10));
      returned.store(true);
    });
  }
  EXPECT(returned.load());
  EXPECT(MsSince(start) < 2000);
}

// DrainWake: a wake between Epoch() and Sleep() is not lost (Sleep returns at once); with no
// wake, Sleep lasts its timeout.
void TestWakeBeforeSleepIsKept() {
  DrainWake wake;
  const uint32_t epoch = wake.Epoch();
  wake.Wake();
  const auto start = Clock::now();
  wake.Sleep(epoch, 2000000000LL);
  EXPECT(MsSince(start) < 500);
  const uint32_t next = wake.Epoch();
  EXPECT(next != epoch);
  const auto quiet = Clock::now();
  wake.Sleep(next, 30000000LL);  // 30 ms, nothing wakes it
  EXPECT(MsSince(quiet) >= 25);
}

// A drain loop asleep with a 3 s timeout, woken by another thread for each of its items: every
// item is seen well before the timeout (no wake lost between a pass and the sleep after it).
// A lost wake fails the first checkpoint after 1 s, and ends the run.
void TestThreadedWakesAreNotLost() {
  DrainWake wake;
  std::atomic<int> produced{0};
  std::atomic<int> seen{0};
  std::atomic<bool> done{false};
  constexpr int kItems = 2000;
  std::thread drain([&] {
    while (!done.load()) {
      const uint32_t epoch = wake.Epoch();
      seen.store(produced.load());
      if (done.load()) break;
      wake.Sleep(epoch, 3000000000LL);
    }
  });
  const auto start = Clock::now();
  bool prompt = true;
  for (int i = 1; i <= kItems && prompt; ++i) {
    produced.store(i);
    wake.Wake();
    // Every tenth item, wait for the drain to have seen it: a lost wake stalls it 3 s.
    if (i % 10 == 0) {
      const auto item = Clock::now();
      while (seen.load() < i && MsSince(item) < 1000) std::this_thread::yield();
      prompt = prompt && seen.load() >= i;
    }
  }
  done.store(true);
  wake.Wake();
  drain.join();
  EXPECT(prompt);
  EXPECT_EQ(seen.load(), kItems);
  EXPECT(MsSince(start) < 10000);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"StopWithoutStart", TestStopWithoutStart},
      {"ThreadedStopCutsTheSleepShort", TestThreadedStopCutsTheSleepShort},
      {"ThreadedPassesUntilStopped", TestThreadedPassesUntilStopped},
      {"ThreadedDestructorJoins", TestThreadedDestructorJoins},
      {"WakeBeforeSleepIsKept", TestWakeBeforeSleepIsKept},
      {"ThreadedWakesAreNotLost", TestThreadedWakesAreNotLost},
  };
  return check::RunTests(tests, argc, argv);
}

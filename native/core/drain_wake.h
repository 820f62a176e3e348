// How the capture core's drain thread sleeps between passes, and how another thread wakes it
// early.
//
// The drain sleeps until a producer says a source holds a whole chunk (Wake), or a timeout for
// what the clock decides (the silence fill, a source gone quiet), or the end. A wake costs the
// waker one atomic increment, and a system call only while the drain sleeps.
//
// On Linux that system call is a futex wake: allowed on libpulse's mainloop thread (an ordinary
// thread, not a real-time one), which wakes the drain once per chunk instead of the drain
// polling four times a chunk. Elsewhere the producers are real-time audio callbacks (a Core
// Audio IOProc, a WASAPI capture thread under MMCSS) that make no system call: kWakesOnWrite is
// false, Wake is for control threads only (it locks), and the drain polls.
#pragma once

#include <atomic>
#include <cstdint>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#else
#include <chrono>
#include <condition_variable>
#include <mutex>
#endif

namespace audiotap {

class DrainWake {
 public:
#ifdef __linux__
  static constexpr bool kWakesOnWrite = true;
#else
  static constexpr bool kWakesOnWrite = false;
#endif

  // Drain thread: read before a pass; Sleep(epoch) then returns at once if anything woke it
  // during the pass (nothing is missed between the pass and the sleep).
  uint32_t Epoch() const { return epoch_.load(std::memory_order_seq_cst); }

  // Drain thread: until Wake() after Epoch() returned `epoch`, or `timeout_ns` (ns) passed.
  // May also return early for no reason (the caller passes again and sleeps again).
  void Sleep(uint32_t epoch, int64_t timeout_ns) {
#ifdef __linux__
    sleeping_.store(true, std::memory_order_seq_cst);
    if (epoch_.load(std::memory_order_seq_cst) == epoch) {
      timespec timeout;
      timeout.tv_sec = static_cast<time_t>(timeout_ns / 1000000000);
      timeout.tv_nsec = static_cast<long>(timeout_ns % 1000000000);
      // Returns at once (EAGAIN) if the epoch moved since it was read: a Wake in between.
      syscall(SYS_futex, EpochWord(), FUTEX_WAIT_PRIVATE, epoch, &timeout, nullptr, 0);
    }
    sleeping_.store(false, std::memory_order_relaxed);
#else
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns),
                 [&] { return epoch_.load(std::memory_order_seq_cst) != epoch; });
#endif
  }

  // Linux: any thread but a real-time one. Elsewhere: control threads only.
  void Wake() {
#ifdef __linux__
    epoch_.fetch_add(1, std::memory_order_seq_cst);
    // Seen false: the drain had not yet checked the epoch, and will see the new one.
    if (sleeping_.load(std::memory_order_seq_cst)) {
      syscall(SYS_futex, EpochWord(), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
#else
    {
      std::lock_guard<std::mutex> lock(mutex_);
      epoch_.fetch_add(1, std::memory_order_seq_cst);
    }
    cv_.notify_all();
#endif
  }

 private:
  std::atomic<uint32_t> epoch_{0};
#ifdef __linux__
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                    std::atomic<uint32_t>::is_always_lock_free,
                "the futex word is the atomic's own 32 bits");
  uint32_t* EpochWord() { return reinterpret_cast<uint32_t*>(&epoch_); }
  std::atomic<bool> sleeping_{false};
#else
  std::mutex mutex_;
  std::condition_variable cv_;
#endif
};

}  // namespace audiotap

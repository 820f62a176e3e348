// A session's control thread: a loop that runs a pass, sleeps an interval, and runs again until
// the session stops it (the macOS tap and input sessions: format conversion, device checks,
// following apps). Stop() cuts the sleep short and joins.
//
//   control_.Start([this] {
//     while (control_.Running()) {
//       Pass();
//       control_.Sleep(interval);
//     }
//   });
//   ...
//   control_.Stop();  // from another thread: returns once the loop has returned
//
// Not for a real-time thread: Sleep and Stop lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace audiotap {

class ControlThread {
 public:
  ControlThread() = default;
  ControlThread(const ControlThread&) = delete;
  ControlThread& operator=(const ControlThread&) = delete;
  ~ControlThread() { Stop(); }

  // Runs `loop` on a new thread. Once only: a stopped ControlThread stays stopped.
  template <typename Loop>
  void Start(Loop&& loop) {
    thread_ = std::thread(std::forward<Loop>(loop));
  }

  // The loop: false once Stop() has been called.
  bool Running() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !stop_;
  }

  // The loop: sleeps `interval`, or until Stop(). Returns Running().
  template <typename Rep, typename Period>
  bool Sleep(std::chrono::duration<Rep, Period> interval) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, interval, [this] { return stop_; });
    return !stop_;
  }

  // Any thread but the loop's: asks the loop to end, wakes it, and waits for it to return.
  // Fine without Start(), and more than once.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace audiotap

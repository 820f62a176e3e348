// Who an app capture (TargetKind::kApp) records, and when its app is gone, back or over: the
// follow rules every backend shares. The backend brings the OS facts (which process opened a
// stream, which names it goes by, which PIDs still live, whether streams are open); this class
// decides. Pure logic, no OS call: unit-tested on every OS (test/native/core/app_follow_test.cc).
//
// Rules (CaptureOptions::follow, strict; see engine.h):
//   - A PID selector, or a name that plays at start without follow, is pinned: that process only.
//   - A followed name: every process that plays under it joins; once all of them have exited
//     (and their streams are gone, or a second has passed) the app is gone, the recording goes
//     on, and the next process of that name that plays brings it back. The PIDs of exited
//     processes are forgotten then, so that a reused PID is not taken for the app.
//   - A name awaited without follow is pinned to the first process that plays under it.
//   - Without followed names the capture is over once every pinned process has exited (and no
//     awaited name has a process); the backend ends it with EndReason::kTargetExited.
// Not thread-safe: one control thread (or a loop thread) drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace audiotap {

class AppFollow {
 public:
  // Does the process (or its stream) go by this lower-case name?
  using NameTest = std::function<bool(const std::string& lower_name)>;
  // Is this process still running?
  using AliveTest = std::function<bool(int32_t pid)>;

  enum class Claim : uint8_t {
    kNo,    // not the app's
    kYes,   // the app's: capture it
    kBack,  // the app's, and the app was gone: capture it; it is back (EventSink::OnTarget)
  };

  enum class Verdict : uint8_t {
    kNone,    // nothing changed
    kGone,    // every process of the followed app has exited: the recording goes on
    kExited,  // not followed: the app has exited, the capture is over
  };

  // Ticks of Tick() (the backends tick every 250 ms) an exited app's streams may linger
  // before it counts as gone anyway.
  static constexpr int kLingerTicks = 4;
  // Without followed names, awaited names are looked for every this many ticks (a process
  // scan costs more than checking PIDs).
  static constexpr unsigned kAwaitScanTicks = 4;

  // At start, for each selector as the backend resolved it.
  void Pin(int32_t pid) { pids_.insert(pid); }
  void Follow(const std::string& lower_name) { followed_.push_back(lower_name); }
  void Await(const std::string& lower_name) { awaited_.push_back(lower_name); }

  // A process (pid > 0) opened a stream or plays; `named` tells the names it goes by.
  Claim ClaimProcess(int32_t pid, const NameTest& named);

  // Every 250 ms. `streams`: streams of the app are still open. `name_runs`: does any process
  // go by this lower-case name (asked only for awaited names, and only every kAwaitScanTicks).
  Verdict Tick(const AliveTest& alive, const NameTest& name_runs, bool streams);

  const std::set<int32_t>& pids() const { return pids_; }  // the processes captured now
  bool following() const { return !followed_.empty(); }
  bool gone() const { return gone_; }
  bool awaiting() const { return !awaited_.empty(); }

 private:
  std::set<int32_t> pids_;
  std::vector<std::string> followed_;  // lower-case
  std::vector<std::string> awaited_;   // lower-case, not followed, not playing yet
  bool gone_ = false;                  // follow: every process of the app has exited
  bool seen_ = false;                  // follow: a process of the app has played
  int dead_ticks_ = 0;                 // ticks since the last process of the app exited
  unsigned ticks_ = 0;
};

}  // namespace audiotap

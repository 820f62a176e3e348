#include "core/app_follow.h"

#include <iterator>

namespace audiotap {

AppFollow::Claim AppFollow::ClaimProcess(int32_t pid, const NameTest& named) {
  if (pid <= 0) return Claim::kNo;
  if (pids_.count(pid)) return Claim::kYes;
  for (const std::string& name : followed_) {
    if (!named(name)) continue;
    pids_.insert(pid);
    if (!gone_) return Claim::kYes;
    gone_ = false;
    dead_ticks_ = 0;
    return Claim::kBack;
  }
  for (auto it = awaited_.begin(); it != awaited_.end(); ++it) {
    if (!named(*it)) continue;
    pids_.insert(pid);
    awaited_.erase(it);
    return Claim::kYes;
  }
  return Claim::kNo;
}

AppFollow::Verdict AppFollow::Tick(const AliveTest& alive, const NameTest& name_runs,
                                   bool streams) {
  bool any = false;
  for (int32_t pid : pids_) any = any || alive(pid);
  if (following()) {
    if (!pids_.empty()) seen_ = true;
    dead_ticks_ = any ? 0 : dead_ticks_ + 1;
    // Armed: nothing of the app has played yet, so nothing is gone.
    if (!seen_ || gone_ || dead_ticks_ == 0 || (streams && dead_ticks_ < kLingerTicks)) {
      return Verdict::kNone;
    }
    for (auto it = pids_.begin(); it != pids_.end();) {
      it = alive(*it) ? std::next(it) : pids_.erase(it);
    }
    gone_ = true;
    return Verdict::kGone;
  }
  // Names not playing yet keep the capture alive while a process of theirs runs.
  if (!any && !awaited_.empty()) {
    any = ++ticks_ % kAwaitScanTicks != 0;
    for (size_t i = 0; !any && i < awaited_.size(); ++i) any = name_runs(awaited_[i]);
  }
  dead_ticks_ = any ? 0 : dead_ticks_ + 1;
  if (dead_ticks_ > 0 && (!streams || dead_ticks_ >= kLingerTicks)) return Verdict::kExited;
  return Verdict::kNone;
}

}  // namespace audiotap

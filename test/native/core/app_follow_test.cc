// Unit tests of native/core/app_follow.{h,cc}: the follow rules every backend applies to an
// app capture (who is captured; when the app is gone, back, or has exited). Built and run by
// scripts/test-native.sh under ASan + UBSan.
#include <set>
#include <string>

#include "check.h"
#include "core/app_follow.h"

using audiotap::AppFollow;
using Claim = AppFollow::Claim;
using Verdict = AppFollow::Verdict;

namespace {

// A pretend OS: which processes run, under which (lower-case) name.
struct World {
  std::set<int32_t> alive;
  std::string name_of(int32_t pid) const { return pid < 1000 ? "player" : "other"; }

  AppFollow::NameTest Named(int32_t pid) const {
    return [this, pid](const std::string& name) { return name == name_of(pid); };
  }
  AppFollow::AliveTest Alive() const {
    return [this](int32_t pid) { return alive.count(pid) != 0; };
  }
  AppFollow::NameTest NameRuns() const {
    return [this](const std::string& name) {
      for (int32_t pid : alive) {
        if (name_of(pid) == name) return true;
      }
      return false;
    };
  }
};

// Ticks until something happens (at most `limit` ticks); returns the verdict and how many.
Verdict TickUntil(AppFollow& follow, const World& world, bool streams, int limit, int* ticks) {
  *ticks = 0;
  while (*ticks < limit) {
    ++*ticks;
    const Verdict verdict = follow.Tick(world.Alive(), world.NameRuns(), streams);
    if (verdict != Verdict::kNone) return verdict;
  }
  return Verdict::kNone;
}

void TestPinnedPidOnly() {
  World world;
  world.alive = {10, 11, 2000};
  AppFollow follow;
  follow.Pin(10);
  EXPECT(follow.ClaimProcess(10, world.Named(10)) == Claim::kYes);
  EXPECT(follow.ClaimProcess(11, world.Named(11)) == Claim::kNo);  // same name, not pinned
  EXPECT(follow.ClaimProcess(2000, world.Named(2000)) == Claim::kNo);
  EXPECT(follow.ClaimProcess(0, world.Named(0)) == Claim::kNo);     // no PID: never the app's
  EXPECT_EQ(follow.pids().size(), 1u);
}

void TestPinnedExitEndsAtOnceWithoutStreams() {
  World world;
  world.alive = {10};
  AppFollow follow;
  follow.Pin(10);
  int ticks = 0;
  EXPECT(TickUntil(follow, world, false, 10, &ticks) == Verdict::kNone);
  world.alive.clear();
  EXPECT(TickUntil(follow, world, false, 10, &ticks) == Verdict::kExited);
  EXPECT_EQ(ticks, 1);
}

void TestPinnedExitWaitsForLingeringStreams() {
  World world;
  AppFollow follow;
  follow.Pin(10);
  int ticks = 0;
  // Streams still open after the exit: a second (kLingerTicks) before it counts as exited.
  EXPECT(TickUntil(follow, world, true, 10, &ticks) == Verdict::kExited);
  EXPECT_EQ(ticks, AppFollow::kLingerTicks);
}

void TestAwaitedNamePinsFirstPlayer() {
  World world;
  world.alive = {10, 11};
  AppFollow follow;
  follow.Await("player");
  EXPECT(follow.awaiting());
  EXPECT(follow.ClaimProcess(2000, world.Named(2000)) == Claim::kNo);
  EXPECT(follow.ClaimProcess(10, world.Named(10)) == Claim::kYes);
  EXPECT(!follow.awaiting());
  // Pinned now: a second process of that name is not taken.
  EXPECT(follow.ClaimProcess(11, world.Named(11)) == Claim::kNo);
  // And its exit ends the capture (not followed), even though 11 still runs.
  world.alive = {11};
  int ticks = 0;
  EXPECT(TickUntil(follow, world, false, 10, &ticks) == Verdict::kExited);
}

void TestAwaitedNameKeepsCaptureWhileItsProcessRuns() {
  World world;
  world.alive = {10};  // runs, has not played
  AppFollow follow;
  follow.Await("player");
  int ticks = 0;
  EXPECT(TickUntil(follow, world, false, 40, &ticks) == Verdict::kNone);
  // The process exits before it ever played: found out by the next name scan.
  world.alive.clear();
  EXPECT(TickUntil(follow, world, false, 40, &ticks) == Verdict::kExited);
  EXPECT(ticks <= static_cast<int>(AppFollow::kAwaitScanTicks));
}

void TestFollowedNameGoneAndBack() {
  World world;
  world.alive = {10};
  AppFollow follow;
  follow.Pin(10);
  follow.Follow("player");
  EXPECT(follow.following());
  EXPECT(follow.ClaimProcess(10, world.Named(10)) == Claim::kYes);
  // A second process of the app joins (a helper, a second window).
  world.alive.insert(11);
  EXPECT(follow.ClaimProcess(11, world.Named(11)) == Claim::kYes);
  EXPECT_EQ(follow.pids().size(), 2u);
  int ticks = 0;
  // One of them exits: the app is not gone.
  world.alive.erase(10);
  EXPECT(TickUntil(follow, world, true, 10, &ticks) == Verdict::kNone);
  // Both gone, streams closed: gone on the next tick, never "exited".
  world.alive.clear();
  EXPECT(TickUntil(follow, world, false, 10, &ticks) == Verdict::kGone);
  EXPECT_EQ(ticks, 1);
  EXPECT(follow.gone());
  EXPECT(follow.pids().empty());  // exited PIDs are forgotten
  EXPECT(TickUntil(follow, world, false, 20, &ticks) == Verdict::kNone);  // said once
  // A reused PID of another program is not the app.
  world.alive.insert(2000);
  EXPECT(follow.ClaimProcess(2000, world.Named(2000)) == Claim::kNo);
  // The app's next run: back, then an ordinary member.
  world.alive.insert(12);
  EXPECT(follow.ClaimProcess(12, world.Named(12)) == Claim::kBack);
  EXPECT(!follow.gone());
  EXPECT(follow.ClaimProcess(12, world.Named(12)) == Claim::kYes);
  // And it can go again.
  world.alive.erase(12);
  EXPECT(TickUntil(follow, world, true, 10, &ticks) == Verdict::kGone);
  EXPECT_EQ(ticks, AppFollow::kLingerTicks);  // its streams lingered
}

void TestFollowedNameArmedIsNeverGoneBeforeItPlays() {
  World world;
  AppFollow follow;
  follow.Follow("player");
  int ticks = 0;
  EXPECT(TickUntil(follow, world, false, 40, &ticks) == Verdict::kNone);
  EXPECT(!follow.gone());
  world.alive = {10};
  // First play is not "back": it was never gone.
  EXPECT(follow.ClaimProcess(10, world.Named(10)) == Claim::kYes);
  world.alive.clear();
  EXPECT(TickUntil(follow, world, false, 10, &ticks) == Verdict::kGone);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"PinnedPidOnly", TestPinnedPidOnly},
      {"PinnedExitEndsAtOnceWithoutStreams", TestPinnedExitEndsAtOnceWithoutStreams},
      {"PinnedExitWaitsForLingeringStreams", TestPinnedExitWaitsForLingeringStreams},
      {"AwaitedNamePinsFirstPlayer", TestAwaitedNamePinsFirstPlayer},
      {"AwaitedNameKeepsCaptureWhileItsProcessRuns", TestAwaitedNameKeepsCaptureWhileItsProcessRuns},
      {"FollowedNameGoneAndBack", TestFollowedNameGoneAndBack},
      {"FollowedNameArmedIsNeverGoneBeforeItPlays", TestFollowedNameArmedIsNeverGoneBeforeItPlays},
  };
  return check::RunTests(tests, argc, argv);
}

// Unit tests of native/core/frame_stamp.h, the seqlock that hands a stream's latest (frame,
// capture time) pair from an audio callback to another thread. Built and run by
// scripts/test-native.sh under ASan + UBSan and under TSan (the threaded test is for TSan).
#include <atomic>
#include <cstdint>
#include <thread>

#include "check.h"
#include "core/frame_stamp.h"

using audiotap::FrameStamp;

namespace {

void TestNeverStamped() {
  FrameStamp stamp;
  uint64_t frame = 7;
  int64_t ns = 7;
  EXPECT(!stamp.Read(&frame, &ns));
  EXPECT_EQ(frame, 7u);  // untouched
  EXPECT_EQ(ns, 7);
}

void TestLatestPair() {
  FrameStamp stamp;
  stamp.Set(480, 1000);
  uint64_t frame = 0;
  int64_t ns = 0;
  EXPECT(stamp.Read(&frame, &ns));
  EXPECT_EQ(frame, 480u);
  EXPECT_EQ(ns, 1000);
  stamp.Set(960, -5);  // a time before the steady clock's origin is a time too
  EXPECT(stamp.Read(&frame, &ns));
  EXPECT_EQ(frame, 960u);
  EXPECT_EQ(ns, -5);
  stamp.Reset();
  EXPECT(!stamp.Read(&frame, &ns));
  stamp.Set(1, 2);
  EXPECT(stamp.Read(&frame, &ns));
  EXPECT_EQ(frame, 1u);
}

// A producer writes pairs whose two halves agree (ns = 3 × frame + 1); a reader must never see
// halves of two different pairs, and sees the frames only grow.
void TestThreadedPairsStayWhole() {
  FrameStamp stamp;
  constexpr uint64_t kPairs = 2000000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint64_t frame = 1; frame <= kPairs; ++frame) {
      stamp.Set(frame, static_cast<int64_t>(frame * 3 + 1));
    }
    done.store(true, std::memory_order_release);
  });
  bool whole = true;
  bool growing = true;
  uint64_t reads = 0;
  uint64_t last = 0;
  while (!done.load(std::memory_order_acquire) || reads == 0) {
    uint64_t frame = 0;
    int64_t ns = 0;
    if (!stamp.Read(&frame, &ns)) continue;
    ++reads;
    whole = whole && ns == static_cast<int64_t>(frame * 3 + 1);
    growing = growing && frame >= last;
    last = frame;
  }
  producer.join();
  uint64_t frame = 0;
  int64_t ns = 0;
  EXPECT(stamp.Read(&frame, &ns));
  EXPECT_EQ(frame, kPairs);
  EXPECT(whole);
  EXPECT(growing);
  EXPECT(reads > 0);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"NeverStamped", TestNeverStamped},
      {"LatestPair", TestLatestPair},
      {"ThreadedPairsStayWhole", TestThreadedPairsStayWhole},
  };
  return check::RunTests(tests, argc, argv);
}

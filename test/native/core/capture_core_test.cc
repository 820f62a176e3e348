// Unit tests of native/core/capture_core.{h,cc}: mixing, timeline, flush at stop, drop counting,
// without an audio server. Built by scripts/test-native.sh with AUDIOTAP_TEST_CLOCK, so most
// tests drive CaptureCore::Pump on their own thread against a clock they advance by hand
// (deterministic on a loaded machine); the tests named Threaded* run the real drain thread
// against the real clock (that is what TSan is for) and assert only what no timing changes.
// The tests are split by topic (capture_core_{mix,channels,timeline,thread,tracks,track_set}_test.cc); this file holds
// the test clock and main(). Arguments select tests by a part of their name.
#include "capture_core_harness.h"

namespace audiotap {

std::atomic<int64_t> g_fake_now_ns{0};

int64_t TestClockNs() {
  const int64_t fake = g_fake_now_ns.load(std::memory_order_relaxed);
  if (fake != 0) return fake;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace audiotap

int main(int argc, char** argv) {
  std::vector<check::Test> tests;
  for (auto topic : {cctest::MixTests, cctest::ChannelTests, cctest::TimelineTests, cctest::ThreadTests,
                     cctest::TrackTests, cctest::TrackSetTests}) {
    for (const check::Test& test : topic()) tests.push_back(test);
  }
  return check::RunTests(tests, argc, argv);
}

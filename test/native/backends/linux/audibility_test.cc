// Unit tests of native/backends/linux/audibility.{h,cc}: when a Linux capture is silent for a
// known cause (every captured stream that plays muted or at volume 0 in the mixer). Built and
// run by scripts/test-native.sh under ASan + UBSan.
#include <string>

#include "backends/linux/audibility.h"
#include "check.h"

using audiotap::pulse::Audibility;

namespace {

// The tests' clock: a second later at every call, so a silence noted has always lasted its
// hold by the next Changed (the hold itself: TestShortSilenceIsNotSaid).
int64_t g_now_ns = 0;
int64_t Tick() { return g_now_ns += 1000000000; }

void TestAudibleStreamsAreNotSilent() {
  Audibility a;
  a.Note(1, false, false, 1.0, Tick());
  EXPECT(!a.Changed(Tick()));
  EXPECT(!a.silent());
}

void TestMutedThenUnmuted() {
  Audibility a;
  a.Note(1, false, false, 1.0, Tick());
  EXPECT(!a.Changed(Tick()));
  a.Note(1, false, true, 1.0, Tick());
  EXPECT(a.Changed(Tick()));
  EXPECT(a.silent());
  EXPECT(a.Message().find("muted in the mixer") != std::string::npos);
  EXPECT(!a.Changed(Tick()));  // said once
  a.Note(1, false, false, 1.0, Tick());
  EXPECT(a.Changed(Tick()));
  EXPECT(!a.silent());
}

void TestVolumeBelowOneStepIsSilence() {
  Audibility a;
  a.Note(1, false, false, 1.0 / 65536, Tick());
  EXPECT(a.Changed(Tick()));
  EXPECT(a.Message().find("at volume 0") != std::string::npos);
  a.Note(1, false, false, 1.0 / 16384, Tick());  // a 16-bit step and more: heard
  EXPECT(a.Changed(Tick()));
  EXPECT(!a.silent());
}

void TestOneAudibleStreamIsEnough() {
  Audibility a;
  a.Note(1, false, true, 1.0, Tick());
  a.Note(2, false, false, 0.5, Tick());
  EXPECT(!a.Changed(Tick()));
  a.Forget(2, Tick());
  EXPECT(a.Changed(Tick()));
  EXPECT(a.silent());
}

void TestCorkedStreamsPlayNothing() {
  Audibility a;
  a.Note(1, true, true, 1.0, Tick());  // muted but paused: nothing to miss
  EXPECT(!a.Changed(Tick()));
  a.Note(2, false, false, 1.0, Tick());
  a.Note(1, true, true, 1.0, Tick());
  EXPECT(!a.Changed(Tick()));
  a.Note(1, false, true, 1.0, Tick());  // resumes muted, beside an audible one
  EXPECT(!a.Changed(Tick()));
}

void TestSilenceOutlastsTheStreamsUntilOnePlaysAudibly() {
  Audibility a;
  a.Note(1, false, true, 1.0, Tick());
  EXPECT(a.Changed(Tick()));
  // The app exits (or its server goes away): no stream, no news.
  a.Forget(1, Tick());
  EXPECT(!a.Changed(Tick()));
  a.Clear();
  EXPECT(!a.Changed(Tick()));
  // Its next run plays muted again (the server restored its mute): still silent, said once.
  a.Note(7, false, true, 1.0, Tick());
  EXPECT(!a.Changed(Tick()));
  EXPECT(a.silent());
  a.Note(7, false, false, 1.0, Tick());
  EXPECT(a.Changed(Tick()));
  EXPECT(!a.silent());
}

// A stream silent for less than the hold (PipeWire: a new stream at volume 0 until the session
// manager restores its volume) is not said; one that stays silent is, once the hold is over.
void TestShortSilenceIsNotSaid() {
  Audibility a;
  const int64_t t = 5000000000;
  a.Note(1, false, false, 0.0, t);  // starts at volume 0
  EXPECT(!a.Changed(t));
  EXPECT(!a.Changed(t + Audibility::kSilentHoldNs - 1));
  a.Note(1, false, false, 1.0, t + 100000000);  // restored before the hold is over
  EXPECT(!a.Changed(t + 2 * Audibility::kSilentHoldNs));
  EXPECT(!a.silent());
  a.Note(1, false, true, 1.0, t + 3000000000);  // muted by the user, and left so
  EXPECT(!a.Changed(t + 3000000000 + Audibility::kSilentHoldNs / 2));
  EXPECT(a.Changed(t + 3000000000 + Audibility::kSilentHoldNs));
  EXPECT(a.silent());
  EXPECT_EQ(a.silent_since_ns(), t + 3000000000);  // the event's position: where it began
  a.Note(1, false, false, 1.0, t + 4000000000);  // audible again: said at once
  EXPECT(a.Changed(t + 4000000000));
  EXPECT(!a.silent());
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"AudibleStreamsAreNotSilent", TestAudibleStreamsAreNotSilent},
      {"MutedThenUnmuted", TestMutedThenUnmuted},
      {"VolumeBelowOneStepIsSilence", TestVolumeBelowOneStepIsSilence},
      {"OneAudibleStreamIsEnough", TestOneAudibleStreamIsEnough},
      {"CorkedStreamsPlayNothing", TestCorkedStreamsPlayNothing},
      {"SilenceOutlastsTheStreamsUntilOnePlaysAudibly", TestSilenceOutlastsTheStreamsUntilOnePlaysAudibly},
      {"ShortSilenceIsNotSaid", TestShortSilenceIsNotSaid},
  };
  return check::RunTests(tests, argc, argv);
}

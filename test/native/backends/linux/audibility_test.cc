// Unit tests of native/backends/linux/audibility.{h,cc}: when a Linux capture is silent for a
// known cause (every captured stream that plays muted or at volume 0 in the mixer). Built and
// run by scripts/test-native.sh under ASan + UBSan.
#include <string>

#include "backends/linux/audibility.h"
#include "check.h"

using audiotap::pulse::Audibility;

namespace {

void TestAudibleStreamsAreNotSilent() {
  Audibility a;
  a.Note(1, false, false, 1.0);
  EXPECT(!a.Changed());
  EXPECT(!a.silent());
}

void TestMutedThenUnmuted() {
  Audibility a;
  a.Note(1, false, false, 1.0);
  EXPECT(!a.Changed());
  a.Note(1, false, true, 1.0);
  EXPECT(a.Changed());
  EXPECT(a.silent());
  EXPECT(a.Message().find("muted in the mixer") != std::string::npos);
  EXPECT(!a.Changed());  // said once
  a.Note(1, false, false, 1.0);
  EXPECT(a.Changed());
  EXPECT(!a.silent());
}

void TestVolumeBelowOneStepIsSilence() {
  Audibility a;
  a.Note(1, false, false, 1.0 / 65536);
  EXPECT(a.Changed());
  EXPECT(a.Message().find("at volume 0") != std::string::npos);
  a.Note(1, false, false, 1.0 / 16384);  // a 16-bit step and more: heard
  EXPECT(a.Changed());
  EXPECT(!a.silent());
}

void TestOneAudibleStreamIsEnough() {
  Audibility a;
  a.Note(1, false, true, 1.0);
  a.Note(2, false, false, 0.5);
  EXPECT(!a.Changed());
  a.Forget(2);
  EXPECT(a.Changed());
  EXPECT(a.silent());
}

void TestCorkedStreamsPlayNothing() {
  Audibility a;
  a.Note(1, true, true, 1.0);  // muted but paused: nothing to miss
  EXPECT(!a.Changed());
  a.Note(2, false, false, 1.0);
  a.Note(1, true, true, 1.0);
  EXPECT(!a.Changed());
  a.Note(1, false, true, 1.0);  // resumes muted, beside an audible one
  EXPECT(!a.Changed());
}

void TestSilenceOutlastsTheStreamsUntilOnePlaysAudibly() {
  Audibility a;
  a.Note(1, false, true, 1.0);
  EXPECT(a.Changed());
  // The app exits (or its server goes away): no stream, no news.
  a.Forget(1);
  EXPECT(!a.Changed());
  a.Clear();
  EXPECT(!a.Changed());
  // Its next run plays muted again (the server restored its mute): still silent, said once.
  a.Note(7, false, true, 1.0);
  EXPECT(!a.Changed());
  EXPECT(a.silent());
  a.Note(7, false, false, 1.0);
  EXPECT(a.Changed());
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
  };
  return check::RunTests(tests, argc, argv);
}

// Unit tests of native/core/app_list.{h,cc}: the streams every backend sees become one app
// list, one entry per process, in one order. Built and run by scripts/test-native.sh under
// ASan + UBSan.
#include <vector>

#include "check.h"
#include "core/app_list.h"

using audiotap::AppInfo;
using audiotap::AppStream;
using audiotap::AppsFromStreams;

namespace {

AppStream Stream(int32_t pid, const char* name, const char* executable, bool playing = true,
                 double volume = 1.0, bool muted = false) {
  AppStream stream;
  stream.pid = pid;
  stream.name = name;
  stream.executable = executable;
  stream.playing = playing;
  stream.volume = volume;
  stream.muted = muted;
  return stream;
}

void TestEmpty() { EXPECT(AppsFromStreams({}).empty()); }

void TestOneEntryPerProcess() {
  // Two sink-inputs of one player and one of another, interleaved.
  const std::vector<AppInfo> apps = AppsFromStreams({
      Stream(200, "Player", "player", false, 0.5, true),
      Stream(100, "Radio", "radio"),
      Stream(200, "Player", "player", true, 1.0, false),
  });
  EXPECT_EQ(apps.size(), 2u);
  if (apps.size() != 2) return;
  EXPECT_EQ(apps[0].name, std::string("Player"));
  EXPECT_EQ(apps[0].pid, 200);
  EXPECT_EQ(apps[0].streams, 2u);
  EXPECT(apps[0].playing);          // one of its streams plays
  EXPECT(!apps[0].muted);           // not all of them are muted
  EXPECT_EQ(apps[0].volume, 0.75);  // the mean
  EXPECT_EQ(apps[1].name, std::string("Radio"));
  EXPECT_EQ(apps[1].streams, 1u);
}

void TestMutedAndPausedOnlyWhenAllAre() {
  const std::vector<AppInfo> apps = AppsFromStreams({
      Stream(7, "a", "a", false, 1.0, true),
      Stream(7, "a", "a", false, 1.0, true),
  });
  EXPECT_EQ(apps.size(), 1u);
  if (apps.empty()) return;
  EXPECT(apps[0].muted);
  EXPECT(!apps[0].playing);
}

void TestNameFallbacks() {
  const std::vector<AppInfo> apps = AppsFromStreams({
      Stream(1, "", "firefox.EXE"),    // no name anywhere: the executable without ".exe"
      Stream(2, "", "mpv"),            // no suffix to take off
      Stream(3, "", "chrome.exe"),     // the first stream has no name, the second has
      Stream(3, "Google Chrome", "chrome.exe"),
      Stream(4, "", ".exe"),           // nothing but the suffix: kept as it is
  });
  EXPECT_EQ(apps.size(), 4u);
  if (apps.size() != 4) return;
  EXPECT_EQ(apps[0].name, std::string(".exe"));
  EXPECT_EQ(apps[1].name, std::string("firefox"));
  EXPECT_EQ(apps[1].executable, std::string("firefox.EXE"));
  EXPECT_EQ(apps[2].name, std::string("Google Chrome"));
  EXPECT_EQ(apps[3].name, std::string("mpv"));
}

void TestSortedByNameIgnoringCaseThenPid() {
  const std::vector<AppInfo> apps = AppsFromStreams({
      Stream(30, "zoom", "zoom"),
      Stream(20, "Audacity", "audacity"),
      Stream(12, "aplay", "aplay"),
      Stream(11, "aplay", "aplay"),
      Stream(40, "Zoom", "zoom"),
  });
  EXPECT_EQ(apps.size(), 5u);
  if (apps.size() != 5) return;
  const int32_t want[] = {11, 12, 20, 30, 40};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(apps[i].pid, want[i]);
}

void TestBundleIdKept() {
  AppStream stream = Stream(5, "Music", "Music");
  stream.bundle_id = "com.apple.Music";
  const std::vector<AppInfo> apps = AppsFromStreams({stream});
  EXPECT_EQ(apps.size(), 1u);
  if (!apps.empty()) EXPECT_EQ(apps[0].bundle_id, std::string("com.apple.Music"));
}

void TestAsciiLower() {
  EXPECT_EQ(audiotap::AsciiLower("FireFox.EXE"), std::string("firefox.exe"));
  // Bytes outside ASCII (UTF-8 of "É") are left alone.
  EXPECT_EQ(audiotap::AsciiLower("\xC3\x89T\xC3\x89"), std::string("\xC3\x89t\xC3\x89"));
}

void TestAppNameMatches() {
  using audiotap::AppNameMatches;
  EXPECT(AppNameMatches("firefox", "Firefox"));
  EXPECT(AppNameMatches("FIREFOX", "firefox"));
  EXPECT(AppNameMatches("firefox", "/usr/lib/firefox/firefox"));
  EXPECT(AppNameMatches("firefox", "firefox.exe"));
  EXPECT(AppNameMatches("firefox", "C:\\Program Files\\Mozilla Firefox\\firefox.EXE"));
  EXPECT(AppNameMatches("firefox.exe", "firefox.exe"));
  EXPECT(AppNameMatches("Google Chrome", "google chrome"));
  EXPECT(!AppNameMatches("fire", "firefox"));
  EXPECT(!AppNameMatches("firefox", "firefox-bin"));
  EXPECT(!AppNameMatches("firefox", "firefox.exe.bak"));
  EXPECT(!AppNameMatches("lib", "/usr/lib/firefox"));  // a directory on the way is no name
  EXPECT(!AppNameMatches("", "firefox"));
  EXPECT(!AppNameMatches("firefox", ""));
  EXPECT(!AppNameMatches("", ""));
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"Empty", TestEmpty},
      {"OneEntryPerProcess", TestOneEntryPerProcess},
      {"MutedAndPausedOnlyWhenAllAre", TestMutedAndPausedOnlyWhenAllAre},
      {"NameFallbacks", TestNameFallbacks},
      {"SortedByNameIgnoringCaseThenPid", TestSortedByNameIgnoringCaseThenPid},
      {"BundleIdKept", TestBundleIdKept},
      {"AsciiLower", TestAsciiLower},
      {"AppNameMatches", TestAppNameMatches},
  };
  return check::RunTests(tests, argc, argv);
}

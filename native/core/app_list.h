// From the streams a backend sees (sink-inputs, audio sessions, Core Audio process objects)
// to the app list every backend's ListApps returns: one entry per process, in one order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine.h"

namespace audiotap {

// One output stream of a process, as a backend sees it.
struct AppStream {
  int32_t pid = 0;
  std::string name;        // the app name the stream carries; "" when it has none
  std::string executable;  // the process's executable base name; "" when unknown
  std::string bundle_id;   // macOS; "" elsewhere
  bool playing = false;    // running now: not corked, not paused, session active
  double volume = 1.0;     // linear gain 0..1
  bool muted = false;
};

// One AppInfo per PID: `streams` counted, `playing` if any stream plays, `muted` if all are,
// `volume` the mean of the streams'. The name is the first non-empty stream name, else the
// executable without a ".exe" suffix (as Windows' volume mixer shows it). The list is sorted
// by name ignoring ASCII case, then by PID, so every OS lists apps in the same order.
std::vector<AppInfo> AppsFromStreams(const std::vector<AppStream>& streams);

// ASCII case folding: app names and executables are compared this way on every OS.
std::string AsciiLower(std::string text);

// Does `candidate` (an app name, an executable, or a path to one) go by `wanted`? Equal
// ignoring ASCII case, as is or by its base name (after the last '/' or '\\'), with or without
// a trailing ".exe": "firefox" matches "Firefox", "/usr/lib/firefox/firefox" and "firefox.exe".
// An empty `wanted` or `candidate` matches nothing. Every backend matches app names this way.
bool AppNameMatches(const std::string& wanted, const std::string& candidate);

}  // namespace audiotap

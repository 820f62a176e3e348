#include "core/app_list.h"

#include <algorithm>
#include <map>

namespace audiotap {

std::string AsciiLower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

namespace {

std::string NameFromExecutable(const std::string& executable) {
  const size_t n = executable.size();
  if (n > 4 && AsciiLower(executable.substr(n - 4)) == ".exe") return executable.substr(0, n - 4);
  return executable;
}

}  // namespace

bool AppNameMatches(const std::string& wanted, const std::string& candidate) {
  if (wanted.empty() || candidate.empty()) return false;
  const std::string want = AsciiLower(wanted);
  std::string name = AsciiLower(candidate);
  if (name == want) return true;
  const size_t slash = name.find_last_of("/\\");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name == want) return true;
  const size_t n = name.size();
  return n > 4 && name.compare(n - 4, 4, ".exe") == 0 && name.compare(0, n - 4, want) == 0;
}

std::vector<AppInfo> AppsFromStreams(const std::vector<AppStream>& streams) {
  std::map<int32_t, AppInfo> apps;
  std::map<int32_t, double> volume_sum;
  for (const AppStream& stream : streams) {
    auto [it, inserted] = apps.try_emplace(stream.pid);
    AppInfo& app = it->second;
    if (inserted) {
      app.pid = stream.pid;
      app.muted = true;
    }
    if (app.name.empty()) app.name = stream.name;
    if (app.executable.empty()) app.executable = stream.executable;
    if (app.bundle_id.empty()) app.bundle_id = stream.bundle_id;
    ++app.streams;
    app.playing = app.playing || stream.playing;
    app.muted = app.muted && stream.muted;
    volume_sum[stream.pid] += stream.volume;
  }
  std::vector<AppInfo> list;
  list.reserve(apps.size());
  for (auto& [pid, app] : apps) {
    app.volume = volume_sum[pid] / app.streams;
    if (app.name.empty()) app.name = NameFromExecutable(app.executable);
    list.push_back(std::move(app));
  }
  std::stable_sort(list.begin(), list.end(), [](const AppInfo& a, const AppInfo& b) {
    const std::string la = AsciiLower(a.name), lb = AsciiLower(b.name);
    return la != lb ? la < lb : a.pid < b.pid;
  });
  return list;
}

}  // namespace audiotap

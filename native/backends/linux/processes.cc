#include "backends/linux/processes.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>

namespace audiotap {
namespace pulse {

bool ProcessAlive(int32_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: trust kill()
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

bool ProcessNamed(int32_t pid, const std::string& lower_name) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::string comm;
  std::getline(std::ifstream(dir + "/comm"), comm);
  // The kernel keeps 15 bytes of comm.
  if (!comm.empty() && AsciiLower(comm) == lower_name.substr(0, 15)) return true;
  char exe[4096];
  const ssize_t n = readlink((dir + "/exe").c_str(), exe, sizeof(exe) - 1);
  if (n > 0 && AppNameMatches(lower_name, std::string(exe, static_cast<size_t>(n)))) return true;
  std::string argv0;
  std::getline(std::ifstream(dir + "/cmdline"), argv0, '\0');
  return AppNameMatches(lower_name, argv0);
}

std::vector<int32_t> ProcessesNamed(const std::string& name) {
  std::vector<int32_t> pids;
  const std::string lower = AsciiLower(name);
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (ProcessNamed(static_cast<int32_t>(pid), lower) && ProcessAlive(static_cast<int32_t>(pid))) {
      pids.push_back(static_cast<int32_t>(pid));
    }
  }
  closedir(proc);
  return pids;
}

int32_t ParentOf(int32_t pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so from the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 4 >= line.size()) return 0;
  return static_cast<int32_t>(std::strtol(line.c_str() + close + 4, nullptr, 10));
}

bool DescendantOf(int32_t pid, const std::set<int32_t>& ancestors) {
  if (ancestors.empty()) return false;
  int32_t at = ParentOf(pid);
  for (int step = 0; step < 64 && at > 1; ++step) {
    if (ancestors.count(at)) return true;
    at = ParentOf(at);
  }
  return false;
}

}  // namespace pulse
}  // namespace audiotap

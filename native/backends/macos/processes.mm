#include "backends/macos/processes.h"

#include <errno.h>
#include <libproc.h>
#include <signal.h>
#include <sys/proc_info.h>
#include <unistd.h>

#include <algorithm>

#include "backends/macos/properties.h"

namespace audiotap {
namespace mac {

std::string ExecutablePath(pid_t pid) {
  char path[PROC_PIDPATHINFO_MAXSIZE];
  const int length = proc_pidpath(pid, path, sizeof(path));
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
}

std::vector<std::string> ExecutableChain() {
  std::vector<std::string> chain;
  pid_t pid = getpid();
  for (int depth = 0; depth < 32 && pid > 1; ++depth) {
    std::string path = ExecutablePath(pid);
    if (!path.empty()) chain.push_back(std::move(path));
    struct proc_bsdinfo info;
    if (proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof(info)) != sizeof(info)) break;
    pid = static_cast<pid_t>(info.pbi_ppid);
  }
  return chain;
}

bool ProcessExists(int32_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

std::vector<ProcessEntry> ListProcessEntries() {
  const auto objects = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyProcessObjectList),
      "kAudioHardwarePropertyProcessObjectList");
  const pid_t self = getpid();
  std::vector<ProcessEntry> entries;
  entries.reserve(objects.size());
  for (AudioObjectID object : objects) {
    pid_t pid = 0;
    // A process that exits while the list is read is skipped.
    if (TryGet(object, Address(kAudioProcessPropertyPID), &pid) != noErr || pid <= 0) continue;
    if (pid == self) continue;
    ProcessEntry entry;
    entry.pid = pid;
    entry.object_id = object;
    entry.bundle_id = TryGetString(object, Address(kAudioProcessPropertyBundleID));
    UInt32 running = 0;
    if (TryGet(object, Address(kAudioProcessPropertyIsRunningOutput), &running) == noErr) {
      entry.running_output = running != 0;
    }
    const AppNames names = AppNamesFromPath(ExecutablePath(pid));
    entry.name = names.name;
    entry.executable = names.executable;
    entry.bundle_path = names.bundle_path;
    if (entry.executable.empty()) {
      char name[2 * MAXCOMLEN + 1] = {0};
      if (proc_name(pid, name, sizeof(name)) > 0) entry.executable = name;
    }
    if (entry.name.empty()) entry.name = !entry.executable.empty() ? entry.executable : entry.bundle_id;
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool IsRunningOutput(AudioObjectID process_object) {
  UInt32 running = 0;
  return TryGet(process_object, Address(kAudioProcessPropertyIsRunningOutput), &running) == noErr &&
         running != 0;
}

bool RunningProcessNamed(const std::string& name) {
  std::vector<pid_t> pids(4096);
  const int bytes = proc_listallpids(pids.data(), static_cast<int>(pids.size() * sizeof(pid_t)));
  if (bytes <= 0) return false;
  pids.resize(std::min(pids.size(), static_cast<size_t>(bytes) / sizeof(pid_t)));
  const pid_t self = getpid();
  for (pid_t pid : pids) {
    if (pid <= 0 || pid == self) continue;
    const AppNames names = AppNamesFromPath(ExecutablePath(pid));
    if (NameMatches(name, names.name, names.executable, "")) return true;
  }
  return false;
}

}  // namespace mac
}  // namespace audiotap

// The process table (PID -> parent PID, executable) the WASAPI backend reasons about process
// trees with: process loopback captures a whole tree.
#pragma once

#include <windows.h>

#include <string>
#include <unordered_map>

namespace audiotap {
namespace win {

// A snapshot of the running processes.
class ProcessTable {
 public:
  struct Entry {
    DWORD parent = 0;
    std::string executable;  // base name, e.g. "firefox.exe"
  };
  // Throws EngineError (EOS) when the snapshot cannot be taken.
  static ProcessTable Snapshot();

  bool Contains(DWORD pid) const { return entries_.count(pid) != 0; }
  const Entry* Find(DWORD pid) const;
  // True when `ancestor` is `pid` itself or one of its (transitive) parents. Windows reuses
  // PIDs and keeps a parent PID after the parent exits, so a chain may pass through an
  // unrelated newer process; the walk is bounded to stay finite on such cycles.
  bool IsInTree(DWORD pid, DWORD ancestor) const;
  const std::unordered_map<DWORD, Entry>& entries() const { return entries_; }

 private:
  std::unordered_map<DWORD, Entry> entries_;
};

// The executable's base name of a running process ("" when it cannot be opened).
std::string ProcessExecutable(DWORD pid);

}  // namespace win
}  // namespace audiotap

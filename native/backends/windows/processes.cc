#include "backends/windows/processes.h"

#include <tlhelp32.h>

#include "backends/windows/win32.h"

namespace audiotap {
namespace win {

ProcessTable ProcessTable::Snapshot() {
  HANDLE raw = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (raw == INVALID_HANDLE_VALUE) {
    ThrowHresult("CreateToolhelp32Snapshot", HRESULT_FROM_WIN32(GetLastError()));
  }
  Handle snapshot(raw);
  ProcessTable table;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof(entry);
  for (BOOL more = Process32FirstW(snapshot.Get(), &entry); more;
       more = Process32NextW(snapshot.Get(), &entry)) {
    Entry& e = table.entries_[entry.th32ProcessID];
    e.parent = entry.th32ParentProcessID;
    e.executable = ToUtf8(entry.szExeFile);
  }
  return table;
}

const ProcessTable::Entry* ProcessTable::Find(DWORD pid) const {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second;
}

bool ProcessTable::IsInTree(DWORD pid, DWORD ancestor) const {
  for (int depth = 0; depth < 64; ++depth) {
    if (pid == ancestor) return true;
    if (pid == 0) return false;
    const Entry* entry = Find(pid);
    if (!entry || entry->parent == pid) return false;
    pid = entry->parent;
  }
  return false;
}

std::string ProcessExecutable(DWORD pid) {
  Handle process(OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid));
  if (!process) return std::string();
  wchar_t path[MAX_PATH * 2];
  DWORD size = static_cast<DWORD>(sizeof(path) / sizeof(path[0]));
  if (!QueryFullProcessImageNameW(process.Get(), 0, path, &size)) return std::string();
  std::wstring full(path, size);
  const size_t slash = full.find_last_of(L"\\/");
  return ToUtf8(slash == std::wstring::npos ? full : full.substr(slash + 1));
}

}  // namespace win
}  // namespace audiotap

// Audio sessions (what the volume mixer lists, one per app and endpoint) and resolving an app
// selector to the root of one process tree. Control threads only; the caller has joined an
// apartment.
#pragma once

#include <windows.h>

#include <audiopolicy.h>

#include <set>
#include <string>
#include <vector>

#include "backends/windows/processes.h"
#include "backends/windows/win32.h"
#include "core/engine.h"

namespace audiotap {
namespace win {

struct SessionInfo {
  DWORD pid = 0;
  std::string display_name;
  AudioSessionState state = AudioSessionStateInactive;
  float volume = 1.0f;
  bool muted = false;
  ComPtr<ISimpleAudioVolume> simple_volume;
};

// Every audio session with a single owning process on every active render endpoint. The
// system-sounds session and cross-process sessions are left out: neither has one PID that
// process loopback could target.
std::vector<SessionInfo> EnumerateSessions();

// The running processes that go by `lower_name`: their executable name (with or without
// ".exe") or one of their sessions' display names, ignoring ASCII case.
std::set<DWORD> ProcessesNamed(const std::string& lower_name, const std::vector<SessionInfo>& sessions,
                              const ProcessTable& processes);

// Resolves a selector to the root of one process tree. A name is matched case-insensitively
// against executable names (with or without ".exe") and session display names; matches
// that descend from another match collapse into it, because process loopback captures a
// whole tree (a browser's audio comes from a child of its main process). Throws EngineError:
// ENOAPP (no such PID or name), EAMBIGUOUS (the name matches separate trees that all play).
DWORD ResolveApp(const AppSelector& selector, const std::vector<SessionInfo>& sessions,
                 const ProcessTable& processes);

// "firefox.exe (PID 1234)", for messages.
std::string Label(DWORD pid, const ProcessTable& processes);

}  // namespace win
}  // namespace audiotap

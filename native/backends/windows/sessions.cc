#include "backends/windows/sessions.h"

#include <set>

#include "backends/windows/endpoints.h"
#include "core/app_list.h"

namespace audiotap {
namespace win {

std::vector<SessionInfo> EnumerateSessions() {
  ComPtr<IMMDeviceEnumerator> enumerator = CreateDeviceEnumerator();
  ComPtr<IMMDeviceCollection> endpoints;
  Check("IMMDeviceEnumerator::EnumAudioEndpoints",
        enumerator->EnumAudioEndpoints(eRender, DEVICE_STATE_ACTIVE, endpoints.Put()));
  UINT endpoint_count = 0;
  Check("IMMDeviceCollection::GetCount", endpoints->GetCount(&endpoint_count));

  std::vector<SessionInfo> sessions;
  for (UINT e = 0; e < endpoint_count; ++e) {
    ComPtr<IMMDevice> endpoint;
    if (FAILED(endpoints->Item(e, endpoint.Put()))) continue;
    ComPtr<IAudioSessionManager2> manager;
    Check("IMMDevice::Activate(IAudioSessionManager2)",
          endpoint->Activate(__uuidof(IAudioSessionManager2), CLSCTX_ALL, nullptr,
                             manager.PutVoid()));
    ComPtr<IAudioSessionEnumerator> list;
    Check("IAudioSessionManager2::GetSessionEnumerator", manager->GetSessionEnumerator(list.Put()));
    int count = 0;
    Check("IAudioSessionEnumerator::GetCount", list->GetCount(&count));
    for (int i = 0; i < count; ++i) {
      ComPtr<IAudioSessionControl> control;
      if (FAILED(list->GetSession(i, control.Put()))) continue;
      ComPtr<IAudioSessionControl2> control2;
      if (FAILED(control->QueryInterface(__uuidof(IAudioSessionControl2), control2.PutVoid()))) {
        continue;
      }
      if (control2->IsSystemSoundsSession() == S_OK) continue;
      DWORD pid = 0;
      // AUDCLNT_S_NO_SINGLE_PROCESS is a success code: the session spans processes.
      if (control2->GetProcessId(&pid) != S_OK || pid == 0) continue;
      SessionInfo info;
      info.pid = pid;
      if (FAILED(control2->GetState(&info.state)) || info.state == AudioSessionStateExpired) {
        continue;
      }
      wchar_t* display = nullptr;
      if (SUCCEEDED(control2->GetDisplayName(&display)) && display) {
        // "@%SystemRoot%\...,-123" names are resource references, not names.
        if (display[0] != L'@') info.display_name = win::ToUtf8(display);
        CoTaskMemFree(display);
      }
      if (SUCCEEDED(control2->QueryInterface(__uuidof(ISimpleAudioVolume),
                                             info.simple_volume.PutVoid()))) {
        BOOL muted = FALSE;
        if (FAILED(info.simple_volume->GetMasterVolume(&info.volume))) info.volume = 1.0f;
        if (SUCCEEDED(info.simple_volume->GetMute(&muted))) info.muted = muted != FALSE;
      }
      sessions.push_back(std::move(info));
    }
  }
  return sessions;
}

std::set<DWORD> ProcessesNamed(const std::string& lower_name, const std::vector<SessionInfo>& sessions,
                              const ProcessTable& processes) {
  std::set<DWORD> matches;
  for (const SessionInfo& session : sessions) {
    if (AppNameMatches(lower_name, session.display_name) && processes.Contains(session.pid)) {
      matches.insert(session.pid);
    }
  }
  for (const auto& [pid, entry] : processes.entries()) {
    if (AppNameMatches(lower_name, entry.executable)) matches.insert(pid);
  }
  return matches;
}

// whole tree (a browser's audio comes from a child of its main process).
DWORD ResolveApp(const AppSelector& selector, const std::vector<SessionInfo>& sessions,
                 const ProcessTable& processes) {
  if (selector.pid > 0) {
    const DWORD pid = static_cast<DWORD>(selector.pid);
    if (!processes.Contains(pid)) {
      throw EngineError("ENOAPP", "no running process has PID " + std::to_string(pid));
    }
    return pid;
  }
  const std::set<DWORD> matches = ProcessesNamed(AsciiLower(selector.name), sessions, processes);
  if (matches.empty()) {
    throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                    "\" (names are executables such as \"firefox.exe\" or "
                                    "audio session names; listApps() shows the apps with audio)");
  }
  std::vector<DWORD> roots;
  for (DWORD pid : matches) {
    const ProcessTable::Entry* entry = processes.Find(pid);
    bool nested = false;
    for (DWORD other : matches) {
      if (other != pid && entry && processes.IsInTree(entry->parent, other)) nested = true;
    }
    if (!nested) roots.push_back(pid);
  }
  // Reused PIDs can make two matches each other's ancestor; then any one of them will do.
  if (roots.empty()) roots.push_back(*matches.begin());
  if (roots.size() > 1) {
    // Prefer the only tree that has audio sessions.
    std::vector<DWORD> with_audio;
    for (DWORD root : roots) {
      for (const SessionInfo& session : sessions) {
        if (processes.IsInTree(session.pid, root)) {
          with_audio.push_back(root);
          break;
        }
      }
    }
    if (with_audio.size() == 1) return with_audio.front();
    std::string list;
    for (DWORD root : roots) {
      const ProcessTable::Entry* entry = processes.Find(root);
      if (!list.empty()) list += ", ";
      list += std::to_string(root) + " (" + (entry ? entry->executable : "?") + ")";
    }
    throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches " +
                                        std::to_string(roots.size()) + " separate processes: " +
                                        list + "; choose one by PID");
  }
  return roots.front();
}

std::string Label(DWORD pid, const ProcessTable& processes) {
  const ProcessTable::Entry* entry = processes.Find(pid);
  const std::string exe = entry ? entry->executable : std::string("process");
  return exe + " (PID " + std::to_string(pid) + ")";
}

}  // namespace win
}  // namespace audiotap

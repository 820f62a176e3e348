// The Windows backend: WASAPI audio sessions for listing apps and per-app volume, process
// loopback (Windows 10 build 19041+, documented from build 20348) for capturing one app's
// process tree or the system mix minus one, endpoint loopback for the whole system mix, and
// a shared-mode render stream for playback (audio-out).
//
// Threads:
//  - Backend methods run on the host's worker thread; each joins the MTA for its own calls.
//  - A capture runs one capture thread per audio client (MTA, MMCSS "Pro Audio"). It opens
//    its client, then only waits for the client's event and copies packets into its own
//    CaptureCore source: no allocation, lock or COM-allocating call in that loop.
//  - One control thread per capture watches the target processes, turns capture-thread
//    failures and data discontinuities into CaptureCore::End / warnings, and (system mix
//    minus several apps) follows audio sessions that appear later.
//  - A playback runs one render thread (MTA, MMCSS "Pro Audio") that owns its audio client;
//    on each buffer event it only tops the endpoint buffer up through PlaybackCore::Pull.
#include <windows.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/windows/capture.h"
#include "backends/windows/playback.h"
#include "backends/windows/processes.h"
#include "backends/windows/sessions.h"
#include "backends/windows/win32.h"
#include "core/engine.h"

namespace audiotap {
namespace {

using win::Check;
using win::ComApartment;
using win::ProcessTable;
using win::SessionInfo;

class WasapiBackend final : public Backend {
 public:
  const char* Name() const override { return "wasapi"; }

  std::vector<AppInfo> ListApps() override {
    ComApartment apartment;
    std::vector<SessionInfo> sessions = win::EnumerateSessions();
    std::map<DWORD, AppInfo> apps;
    std::map<DWORD, double> volume_sum;
    for (const SessionInfo& session : sessions) {
      auto [it, inserted] = apps.try_emplace(session.pid);
      AppInfo& app = it->second;
      if (inserted) {
        app.pid = static_cast<int32_t>(session.pid);
        app.executable = win::ProcessExecutable(session.pid);
        app.muted = true;
      }
      if (app.name.empty()) app.name = session.display_name;
      app.streams += 1;
      app.playing = app.playing || session.state == AudioSessionStateActive;
      app.muted = app.muted && session.muted;
      volume_sum[session.pid] += session.volume;
    }
    const ProcessTable processes = ProcessTable::Snapshot();
    std::vector<AppInfo> out;
    for (auto& [pid, app] : apps) {
      // A session whose process has exited lingers until it expires; it cannot be captured.
      if (!processes.Contains(pid)) continue;
      if (app.executable.empty()) {
        const ProcessTable::Entry* entry = processes.Find(pid);
        if (entry) app.executable = entry->executable;
      }
      app.volume = app.streams ? volume_sum[pid] / app.streams : 1.0;
      if (app.name.empty()) {
        // No session name: the executable without ".exe", as Windows' volume mixer shows it.
        app.name = app.executable;
        if (app.name.size() > 4 && win::Lower(app.name.substr(app.name.size() - 4)) == ".exe") {
          app.name.resize(app.name.size() - 4);
        }
      }
      out.push_back(std::move(app));
    }
    std::sort(out.begin(), out.end(), [](const AppInfo& a, const AppInfo& b) {
      const std::string la = win::Lower(a.name), lb = win::Lower(b.name);
      return la != lb ? la < lb : a.pid < b.pid;
    });
    return out;
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    return win::StartCapture(options, core);
  }

  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    return win::StartPlayback(options, core);
  }

  void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                    std::optional<bool> mute) override {
    if (volume && !(*volume >= 0.0 && *volume <= 1.0)) {
      throw EngineError("EFORMAT", "volume must be between 0 and 1 (linear), not " +
                                       std::to_string(*volume));
    }
    ComApartment apartment;
    std::vector<SessionInfo> sessions = win::EnumerateSessions();
    const ProcessTable processes = ProcessTable::Snapshot();
    const DWORD root = win::ResolveApp(app, sessions, processes);
    int changed = 0;
    for (SessionInfo& session : sessions) {
      if (!session.simple_volume || !processes.IsInTree(session.pid, root)) continue;
      if (volume) {
        Check("ISimpleAudioVolume::SetMasterVolume",
              session.simple_volume->SetMasterVolume(static_cast<float>(*volume), nullptr));
      }
      if (mute) {
        Check("ISimpleAudioVolume::SetMute",
              session.simple_volume->SetMute(*mute ? TRUE : FALSE, nullptr));
      }
      ++changed;
    }
    if (changed == 0) {
      throw EngineError("ENOAPP", win::Label(root, processes) +
                                      " has no audio session (it has not played audio yet)");
    }
  }
};

}  // namespace

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<WasapiBackend>(); }

}  // namespace audiotap

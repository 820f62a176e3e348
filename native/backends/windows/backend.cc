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
#include "core/app_list.h"
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
    const std::vector<SessionInfo> sessions = win::EnumerateSessions();
    const ProcessTable processes = ProcessTable::Snapshot();
    std::vector<AppStream> streams;
    std::map<DWORD, std::string> executables;
    for (const SessionInfo& session : sessions) {
      // A session whose process has exited lingers until it expires; it cannot be captured.
      if (!processes.Contains(session.pid)) continue;
      auto [exe, inserted] = executables.try_emplace(session.pid);
      if (inserted) {
        exe->second = win::ProcessExecutable(session.pid);
        if (exe->second.empty()) exe->second = processes.Find(session.pid)->executable;
      }
      AppStream stream;
      stream.pid = static_cast<int32_t>(session.pid);
      stream.name = session.display_name;
      stream.executable = exe->second;
      stream.playing = session.state == AudioSessionStateActive;
      stream.volume = session.volume;
      stream.muted = session.muted;
      streams.push_back(std::move(stream));
    }
    return AppsFromStreams(streams);
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

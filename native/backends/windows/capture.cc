#include "backends/windows/capture.h"

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/windows/activation.h"
#include "backends/windows/endpoints.h"
#include "backends/windows/loopback_client.h"
#include "backends/windows/processes.h"
#include "backends/windows/sessions.h"
#include "backends/windows/win32.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace win {

namespace {

constexpr DWORD kControlTickMs = 250;
constexpr int64_t kSessionPollMs = 1000;
constexpr int64_t kWarningIntervalMs = 5000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class WasapiCaptureSession final : public CaptureSession {
 public:
  WasapiCaptureSession(const CaptureOptions& options, CaptureCore* core)
      : format_(RecordedFormat(options.format)), core_(core),
        stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
        wake_(CreateEventW(nullptr, FALSE, FALSE, nullptr)) {
    if (!stop_ || !wake_) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
  }
  ~WasapiCaptureSession() override { Stop(); }

  // What the loopback clients ask the audio engine for: the caller's rate and encoding in
  // stereo (a process-loopback stream has no channel count of its own). The capture core
  // makes mono by its one law (core/channel_mix.h), not the engine's.
  static Format RecordedFormat(Format format) {
    format.channels = RecordChannels(0);
    return format;
  }

  // Adds a client and its source; throws EngineError (and releases the source) on failure.
  void AddClient(ClientSpec spec) {
    const int source = core_->AcquireSource(format_.channels);
    if (source < 0) {
      throw EngineError("EUNSUPPORTED", "a capture mixes at most " +
                                            std::to_string(CaptureCore::kMaxSources) +
                                            " processes");
    }
    auto client = std::make_unique<LoopbackClient>(std::move(spec), format_, core_, source,
                                                   wake_.Get());
    try {
      client->Start();
    } catch (...) {
      core_->ReleaseSource(source);
      throw;
    }
    clients_.push_back(std::move(client));
  }

  // The capture ends when every one of these processes has exited.
  void WatchTarget(DWORD pid, std::string label) {
    HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    if (!process) return;  // not watchable (protected process): the capture runs until stopped
    targets_.push_back({Handle(process), std::move(label), false});
  }

  // System mix minus several apps: one include-tree client per process with audio sessions
  // outside the excluded trees, and new ones as sessions appear.
  void FollowSessions(std::vector<DWORD> excluded) {
    follow_ = true;
    excluded_ = std::move(excluded);
    PollSessions();
    last_poll_ms_ = NowMs();
  }

  void Run() {
    control_ = std::thread([this] { ControlLoop(); });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    SetEvent(stop_.Get());
    if (control_.joinable()) control_.join();
    StopClients();
  }

 private:
  struct Target {
    Handle process;
    std::string label;
    bool exited;
  };

  void StopClients() {
    for (auto& client : clients_) {
      client->StopAndJoin();
      core_->ReleaseSource(client->source());
    }
    clients_.clear();
  }

  void PollSessions() {
    std::vector<SessionInfo> sessions = EnumerateSessions();
    ProcessTable processes = ProcessTable::Snapshot();
    // Clients of processes that exited free their source for processes that come later.
    for (auto it = clients_.begin(); it != clients_.end();) {
      const DWORD pid = (*it)->spec().pid;
      if ((*it)->spec().kind == ClientSpec::Kind::kProcessInclude && !processes.Contains(pid)) {
        (*it)->StopAndJoin();
        core_->ReleaseSource((*it)->source());
        captured_.erase(pid);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    std::set<DWORD> candidates;
    for (const SessionInfo& session : sessions) candidates.insert(session.pid);
    for (DWORD pid : candidates) {
      if (!processes.Contains(pid) || captured_.count(pid)) continue;
      bool skip = false;
      for (DWORD excluded : excluded_) skip = skip || processes.IsInTree(pid, excluded);
      // An include-tree client of an ancestor already carries this process's audio.
      for (DWORD captured : captured_) skip = skip || processes.IsInTree(pid, captured);
      if (skip) continue;
      // Conversely, clients of this process's descendants would now be heard twice.
      for (auto it = clients_.begin(); it != clients_.end();) {
        const DWORD other = (*it)->spec().pid;
        if (other != pid && processes.IsInTree(other, pid)) {
          (*it)->StopAndJoin();
          core_->ReleaseSource((*it)->source());
          captured_.erase(other);
          it = clients_.erase(it);
        } else {
          ++it;
        }
      }
      captured_.insert(pid);
      try {
        AddClient({ClientSpec::Kind::kProcessInclude, pid, "", Label(pid, processes)});
      } catch (const EngineError& error) {
        core_->sink()->OnWarning("", "not capturing " + Label(pid, processes) + ": " + error.what());
      }
    }
  }

  void ControlLoop() {
    WatchLoop();
    // Whatever ended the capture, the clients stop writing now, not when the host calls Stop.
    StopClients();
  }

  void WatchLoop() {
    try {
      ComApartment apartment;  // for session polling
      uint64_t reported_discontinuities = 0;
      int64_t last_warning_ms = 0;
      for (;;) {
        std::vector<HANDLE> waits = {stop_.Get(), wake_.Get()};
        for (const Target& target : targets_) {
          if (!target.exited && waits.size() < MAXIMUM_WAIT_OBJECTS) {
            waits.push_back(target.process.Get());
          }
        }
        const DWORD woke = WaitForMultipleObjects(static_cast<DWORD>(waits.size()), waits.data(),
                                                  FALSE, kControlTickMs);
        if (woke == WAIT_OBJECT_0) return;

        for (const auto& client : clients_) {
          if (client->failed()) {
            core_->End(EndReason::kError, client->error_code(), client->error_message());
            return;
          }
        }

        if (!targets_.empty()) {
          std::string exited;
          bool all_exited = true;
          for (Target& target : targets_) {
            if (!target.exited && WaitForSingleObject(target.process.Get(), 0) == WAIT_OBJECT_0) {
              target.exited = true;
            }
            if (target.exited) {
              exited += (exited.empty() ? "" : ", ") + target.label;
            } else {
              all_exited = false;
            }
          }
          if (all_exited) {
            core_->End(EndReason::kTargetExited, "", exited + " exited");
            return;
          }
        }

        uint64_t discontinuities = 0;
        for (const auto& client : clients_) discontinuities += client->discontinuities();
        const int64_t now = NowMs();
        if (discontinuities > reported_discontinuities &&
            now - last_warning_ms >= kWarningIntervalMs) {
          core_->sink()->OnWarning(
              "", std::to_string(discontinuities - reported_discontinuities) +
              " data discontinuity(ies) in the captured audio: the audio engine dropped frames "
              "before they were read (system overloaded)");
          reported_discontinuities = discontinuities;
          last_warning_ms = now;
        }

        if (follow_ && now - last_poll_ms_ >= kSessionPollMs) {
          last_poll_ms_ = now;
          try {
            PollSessions();
          } catch (const EngineError& error) {
            core_->sink()->OnWarning("", std::string("could not look for new audio sessions: ") +
                                     error.what());
          }
        }
      }
    } catch (const std::exception& error) {
      core_->End(EndReason::kError, "EOS", error.what());
    }
  }

  const Format format_;  // what the clients record (RecordedFormat)
  CaptureCore* const core_;
  Handle stop_;
  Handle wake_;
  std::vector<std::unique_ptr<LoopbackClient>> clients_;  // control thread once Run() began
  std::vector<Target> targets_;
  bool follow_ = false;
  std::vector<DWORD> excluded_;
  std::set<DWORD> captured_;
  int64_t last_poll_ms_ = 0;
  std::thread control_;
  std::atomic<bool> stopped_{false};
};

void RequireProcessLoopback(CaptureCore* core) {
  const uint32_t build = win::WindowsBuild();
  if (build != 0 && build < kFirstProcessLoopbackBuild) {
    throw EngineError("EUNSUPPORTED", ProcessLoopbackUnsupportedMessage(build));
  }
  if (build != 0 && build < kDocumentedProcessLoopbackBuild) {
    // Windows 10 2004..22H2 have process loopback, but only with recent cumulative updates;
    // an older one activates without error and delivers silence.
    core->sink()->OnWarning(
        "", "process loopback on Windows 10 build " + std::to_string(build) +
        " works only with recent cumulative updates (Microsoft documents build " +
        std::to_string(kDocumentedProcessLoopbackBuild) +
        "); if the recording stays silent, install the latest Windows updates");
  }
}

}  // namespace

std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core) {
  ValidateFormat(options.format);
  const Target& target = options.target;
  if (target.kind == TargetKind::kTap) {
    throw EngineError("EUNSUPPORTED", "existing process taps are a macOS feature; on Windows "
                                      "capture apps by PID or name");
  }
  if (options.EffectiveMuteMode() != MuteMode::kUnmuted) {
    // Session mute (ISimpleAudioVolume) is applied before process loopback sees the
    // audio, so muting the app would record silence. See docs/windows.md.
    throw EngineError("EUNSUPPORTED",
                      "muting the captured app is not available on Windows: session mute also "
                      "silences the process-loopback capture. Mute the output device or "
                      "lower the app's volume instead");
  }
  ComApartment apartment;
  auto session = std::make_unique<WasapiCaptureSession>(options, core);

  if (target.kind == TargetKind::kSystem && target.exclude.empty()) {
    session->AddClient({ClientSpec::Kind::kEndpoint, 0, options.device,
                        options.device.empty() ? "the system mix"
                                               : "the mix of " + options.device});
    // The mix is always there: the timeline starts now, silent until something plays.
    core->MarkRecording();
    session->Run();
    return session;
  }

  if (!options.device.empty()) {
    throw EngineError("EUNSUPPORTED",
                      "process loopback captures an app on every output device; an output "
                      "device can only be chosen for the whole system mix");
  }
  RequireProcessLoopback(core);
  const std::vector<SessionInfo> sessions = EnumerateSessions();
  const ProcessTable processes = ProcessTable::Snapshot();

  if (target.kind == TargetKind::kApp) {
    if (target.apps.empty()) throw EngineError("ENOAPP", "no app to capture was given");
    std::vector<DWORD> roots;
    for (const AppSelector& selector : target.apps) {
      roots.push_back(ResolveApp(selector, sessions, processes));
    }
    // A tree already captured through an ancestor is not captured twice.
    std::vector<DWORD> unique;
    for (DWORD pid : roots) {
      bool nested = false;
      for (DWORD other : roots) {
        const ProcessTable::Entry* entry = processes.Find(pid);
        if (other != pid && entry && processes.IsInTree(entry->parent, other)) nested = true;
      }
      if (!nested && std::find(unique.begin(), unique.end(), pid) == unique.end()) {
        unique.push_back(pid);
      }
    }
    if (unique.empty()) unique.push_back(roots.front());  // see ResolveApp on reused PIDs
    for (DWORD pid : unique) {
      session->AddClient({ClientSpec::Kind::kProcessInclude, pid, "", Label(pid, processes)});
      session->WatchTarget(pid, Label(pid, processes));
    }
    session->Run();
    return session;
  }

  // kSystem minus apps.
  std::vector<DWORD> excluded;
  for (const AppSelector& selector : target.exclude) {
    excluded.push_back(ResolveApp(selector, sessions, processes));
  }
  std::sort(excluded.begin(), excluded.end());
  excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  if (excluded.size() == 1) {
    session->AddClient({ClientSpec::Kind::kProcessExclude, excluded.front(), "",
                        "the system mix without " + Label(excluded.front(), processes)});
  } else {
    session->FollowSessions(std::move(excluded));
  }
  core->MarkRecording();
  session->Run();
  return session;
}

}  // namespace win
}  // namespace audiotap

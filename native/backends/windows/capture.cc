#include "backends/windows/capture.h"

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
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
#include "core/app_follow.h"
#include "core/app_list.h"
#include "core/channel_mix.h"
#include "core/track_set.h"

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
  // `track`: the core's track its sources go to; `host`: a multitrack capture's whole
  // (core/track_set.h), null for a capture of one target.
  WasapiCaptureSession(const CaptureOptions& options, CaptureCore* core, uint32_t track,
                       TrackHost* host)
      : options_(options), format_(RecordedFormat(options.format)), core_(core), track_(track),
        host_(host),
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
    // Clock 0: packets are placed on the timeline by their QPC stamps (loopback clients of
    // one endpoint are not known to deliver the same render in step).
    const int source = core_->AcquireSource(format_.channels, track_, 0);
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

  // kApp, at start: every selector.
  void SelectApps(const std::vector<SessionInfo>& sessions, const ProcessTable& processes) {
    app_ = true;
    for (const AppSelector& selector : options_.target.apps) Select(selector, sessions, processes);
  }

  // kApp, at start: one selector. A followed name that no process has yet is armed (waited
  // for) unless strict; the rules are core/app_follow.h's.
  void Select(const AppSelector& selector, const std::vector<SessionInfo>& sessions,
              const ProcessTable& processes) {
    const bool follow = options_.follow && selector.pid <= 0;
    DWORD root = 0;
    try {
      root = ResolveApp(selector, sessions, processes);
    } catch (const EngineError& error) {
      if (!follow || options_.strict || error.code != "ENOAPP") throw;
    }
    if (follow) follow_.Follow(AsciiLower(selector.name));
    if (root == 0) return;
    follow_.Pin(static_cast<int32_t>(root));
    Watch(root, processes);
    CaptureTree(root, processes, /*throw_on_failure=*/true);
  }

  // System mix minus several apps: one include-tree client per process with audio sessions
  // outside the excluded trees, and new ones as sessions appear.
  void FollowSessions(std::vector<DWORD> excluded) {
    follow_sessions_ = true;
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
    Handle process;  // SYNCHRONIZE; empty when the process cannot be opened
    std::string label;
  };

  void StopClients() {
    for (auto& client : clients_) {
      client->StopAndJoin();
      core_->ReleaseSource(client->source());
    }
    clients_.clear();
  }

  // Stops the clients `retire` picks and frees their sources (and their processes' places).
  template <typename Pick>
  void RetireClients(const Pick& retire) {
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (retire((*it)->spec())) {
        (*it)->StopAndJoin();
        core_->ReleaseSource((*it)->source());
        captured_.erase((*it)->spec().pid);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void PollSessions() {
    std::vector<SessionInfo> sessions = EnumerateSessions();
    ProcessTable processes = ProcessTable::Snapshot();
    // Clients of processes that exited free their source for processes that come later.
    RetireClients([&](const ClientSpec& spec) {
      return spec.kind == ClientSpec::Kind::kProcessInclude && !processes.Contains(spec.pid);
    });
    std::set<DWORD> candidates;
    for (const SessionInfo& session : sessions) candidates.insert(session.pid);
    for (DWORD pid : candidates) {
      if (!processes.Contains(pid)) continue;
      bool skip = false;
      for (DWORD excluded : excluded_) skip = skip || processes.IsInTree(pid, excluded);
      if (!skip) CaptureTree(pid, processes, /*throw_on_failure=*/false);
    }
  }

  // An include-tree client for `pid`, unless a client of an ancestor already carries its audio;
  // clients of its descendants are stopped (they would be heard twice). A client that cannot
  // start throws (at start) or is a warning (later).
  void CaptureTree(DWORD pid, const ProcessTable& processes, bool throw_on_failure) {
    if (captured_.count(pid)) return;
    for (DWORD captured : captured_) {
      if (processes.IsInTree(pid, captured)) return;
    }
    RetireClients([&](const ClientSpec& spec) {
      return spec.pid != pid && processes.IsInTree(spec.pid, pid);
    });
    try {
      AddClient({ClientSpec::Kind::kProcessInclude, pid, "", Label(pid, processes)});
      captured_.insert(pid);
    } catch (const EngineError& error) {
      if (throw_on_failure) throw;
      core_->sink()->OnWarning("", "not capturing " + Label(pid, processes) + ": " + error.what());
    }
  }

  // kApp: a handle to wait on each process of the app, and its label for messages.
  void Watch(DWORD pid, const ProcessTable& processes) {
    if (targets_.count(pid)) return;
    // Not openable (a protected process): it counts as running until the capture stops.
    HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    targets_[pid] = {Handle(process), Label(pid, processes)};
  }

  bool Alive(DWORD pid) const {
    auto it = targets_.find(pid);
    if (it == targets_.end() || !it->second.process) return true;
    return WaitForSingleObject(it->second.process.Get(), 0) != WAIT_OBJECT_0;
  }

  // kApp, every tick: the clients of exited processes stop (a source that no longer delivers
  // would hold the timeline back), then the follow rules say whether the app is gone or over.
  // Returns false when the capture ended.
  bool TickApp() {
    std::string exited;
    RetireClients([this](const ClientSpec& spec) { return !Alive(spec.pid); });
    for (const auto& [pid, target] : targets_) {
      if (!Alive(pid)) exited += (exited.empty() ? "" : ", ") + target.label;
    }
    const auto alive = [this](int32_t pid) { return Alive(static_cast<DWORD>(pid)); };
    const auto no_scan = [](const std::string&) { return false; };  // nothing is awaited here
    switch (follow_.Tick(alive, no_scan, /*streams=*/false)) {
      case AppFollow::Verdict::kExited:
        if (host_) {
          // One track's app: its track records silence from here; the whole ends with the last.
          core_->NoteTarget(false, static_cast<int>(track_));
          host_->TrackExited(track_);
        } else {
          core_->End(EndReason::kTargetExited, "", exited + " exited");
        }
        return false;
      case AppFollow::Verdict::kGone:
        // The app's PIDs are forgotten (a reused PID is not the app); so are their handles.
        for (auto it = targets_.begin(); it != targets_.end();) {
          it = follow_.pids().count(static_cast<int32_t>(it->first)) ? std::next(it)
                                                                      : targets_.erase(it);
        }
        core_->NoteTarget(false, TrackIndex());
        return true;
      case AppFollow::Verdict::kNone:
        return true;
    }
    return true;
  }

  // kApp with a followed name, once a second: processes that go by it join (the app's next
  // run, a second instance, one started after the capture was armed).
  void PollFollowed() {
    const std::vector<SessionInfo> sessions = EnumerateSessions();
    const ProcessTable processes = ProcessTable::Snapshot();
    std::map<std::string, std::set<DWORD>> named;
    for (const auto& [pid, entry] : processes.entries()) {
      const auto goes_by = [&](const std::string& lower_name) {
        auto it = named.find(lower_name);
        if (it == named.end()) {
          it = named.emplace(lower_name, ProcessesNamed(lower_name, sessions, processes)).first;
        }
        return it->second.count(pid) != 0;
      };
      switch (follow_.ClaimProcess(static_cast<int32_t>(pid), goes_by)) {
        case AppFollow::Claim::kNo:
          continue;
        case AppFollow::Claim::kBack:
          core_->NoteTarget(true, TrackIndex());
          break;
        case AppFollow::Claim::kYes:
          break;
      }
      Watch(pid, processes);
      CaptureTree(pid, processes, /*throw_on_failure=*/false);
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
        for (const auto& [pid, target] : targets_) {
          if (target.process && waits.size() < MAXIMUM_WAIT_OBJECTS &&
              WaitForSingleObject(target.process.Get(), 0) != WAIT_OBJECT_0) {
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

        if (app_ && !TickApp()) return;

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

        if ((follow_sessions_ || follow_.following()) && now - last_poll_ms_ >= kSessionPollMs) {
          last_poll_ms_ = now;
          try {
            if (follow_sessions_) PollSessions();
            if (follow_.following()) PollFollowed();
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

  // What NoteTarget says: the track of a multitrack capture, -1 for one target.
  int TrackIndex() const { return host_ ? static_cast<int>(track_) : -1; }

  const CaptureOptions options_;
  const Format format_;  // what the clients record (RecordedFormat)
  CaptureCore* const core_;
  const uint32_t track_;
  TrackHost* const host_;
  Handle stop_;
  Handle wake_;
  std::vector<std::unique_ptr<LoopbackClient>> clients_;  // control thread once Run() began
  // kApp (control thread once Run() began): the follow rules, and the app's processes.
  bool app_ = false;
  AppFollow follow_;
  std::map<DWORD, Target> targets_;
  bool follow_sessions_ = false;  // kSystem minus several apps
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

// One target's capture feeding `core`'s track `track` (with `host`: one track of a multitrack
// capture). Throws as StartCapture.
std::unique_ptr<CaptureSession> StartTarget(const CaptureOptions& options, CaptureCore* core,
                                            uint32_t track, TrackHost* host) {
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
  auto session = std::make_unique<WasapiCaptureSession>(options, core, track, host);

  if (target.kind == TargetKind::kInput) {
    // An input device (a microphone), recorded as it is.
    const std::string& device = target.device.empty() ? options.device : target.device;
    session->AddClient({ClientSpec::Kind::kInput, 0, device,
                        device.empty() ? "the default input device" : "the input " + device});
    core->MarkRecording();
    session->Run();
    return session;
  }

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
    session->SelectApps(sessions, processes);
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

}  // namespace

std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core) {
  ValidateFormat(options.format);
  if (!options.track_targets.empty()) {
    return StartTrackSet(options, core, [core](const CaptureOptions& one, uint32_t track, TrackHost* host) {
      return StartTarget(one, core, track, host);
    });
  }
  return StartTarget(options, core, 0, nullptr);
}

}  // namespace win
}  // namespace audiotap

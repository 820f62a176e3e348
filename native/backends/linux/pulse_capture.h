// The capture session on a pulse server, shared by the files that implement it:
//   capture.cc          start and stop, the sink-inputs followed through server events, and
//                       whether the capture is heard (muted in the mixer)
//   capture_apps.cc     which sink-inputs are the target's: app selectors resolved to PIDs or
//                       names, follow rules, the exclusions of a mix minus apps, the exit timer
//   capture_monitors.cc the monitor streams and the real-time read path into the core
//   capture_server.cc   server loss, reconnection with back-off, and resuming on a new server
//
// Threads: the connection's loop thread runs every callback; the worker (Start) and the
// reconnection thread hold the loop lock while they touch the session's state; Stop() may
// come from any thread but the loop thread.
#pragma once

#include <pulse/pulseaudio.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/linux/audibility.h"
#include "backends/linux/capture.h"
#include "backends/linux/connection.h"
#include "backends/linux/mute_sink.h"
#include "backends/linux/pulse_api.h"
#include "backends/linux/sink_input.h"
#include "backends/linux/stream_restore.h"
#include "core/app_follow.h"
#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace pulse {

// The steady clock (CLOCK_MONOTONIC), in ns: what the core's timestamps are on.
inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A running capture of one target (an app or several, the system mix or a mix minus apps, an
// input device) feeding the core's track `track`.
class PulseCapture : public CaptureSession {
 public:
  PulseCapture(const CaptureOptions& options, CaptureCore* core, uint32_t track, TrackHost* host);
  ~PulseCapture() override { Stop(); }

  // Worker thread. Throws EngineError; the destructor then releases what was opened.
  void Start();
  void Stop() override;

 private:
  // One monitor stream: of a sink-input, or of a whole source (a sink's monitor, an input).
  struct Monitor {
    PulseCapture* owner;
    uint32_t sink_input;  // PA_INVALID_INDEX for a plain sink monitor
    pa_stream* stream = nullptr;
    int source = -1;         // the core's source it writes to
    size_t frame_bytes = 0;  // of the recorded stream (its own channel count)
  };

  // capture.cc
  void StartLocked();
  bool FollowSinkInputs(const std::vector<SinkInput>& inputs);
  void OpenMonitorOfSinkInput(const SinkInput& input);
  void Requery(uint32_t sink_input);
  static void OnEvent(pa_context*, pa_subscription_event_type_t type, uint32_t index, void* user);
  void NoteHeard(const SinkInput& input);
  void ForgetHeard(uint32_t sink_input);
  void ReportAudibility();

  // capture_apps.cc
  void ResolveApps(const std::vector<SinkInput>& inputs);
  void ExcludeApps();
  bool Wanted(const SinkInput& input);
  std::string DescribeTarget() const;
  void StartExitTimer();
  static void OnTimer(pa_mainloop_api*, pa_time_event* event, const struct timeval*, void* user);

  // capture_monitors.cc
  void OpenSinkMonitor();
  void OpenInput();
  void OpenMonitor(uint32_t sink_input, uint32_t monitor_source, uint32_t channels);
  void CloseMonitor(Monitor& monitor);
  static void OnRead(pa_stream* stream, size_t, void* user);
  static void OnStreamState(pa_stream* stream, void* user);

  // capture_server.cc
  void ServerLost(const std::string& why);
  void Reconnect(const std::string& why);
  void DropServerState();
  void ResumeLocked();
  void NoteServer(bool back);

  const PulseApi& pa_;
  const CaptureOptions options_;
  CaptureCore* const core_;
  const uint32_t track_;     // the core's track its sources go to (0 for a plain capture)
  bool pipewire_ = false;    // the server is pipewire-pulse (asked at start and on a new server)
  TrackHost* const host_;    // a multitrack capture's whole (core/track_set.h); null for a plain one
  const bool mute_;
  std::unique_ptr<Connection> connection_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
  std::map<uint32_t, std::unique_ptr<Monitor>> monitors_;  // by sink-input index
  AppFollow follow_;                       // kApp: whose streams are captured, and when
  Audibility audibility_;                  // captured sink-inputs muted in the mixer?
  std::set<int32_t> exclude_pids_;         // kSystem
  std::vector<std::string> exclude_names_; // kSystem, lower-case
  pa_time_event* timer_ = nullptr;
  std::unique_ptr<MuteSink> mute_sink_;   // mute: made at start (again on a new server)
  StreamRestore stored_routing_;         // the server's stored routing before the capture
  std::string token_;                    // mute: the private sink's owner token
  bool server_lost_ = false;             // between ServerLost and a resumed connection
  std::mutex reconnect_mutex_;           // quitting_, reconnector_
  std::condition_variable reconnect_cv_;
  bool quitting_ = false;                // Stop() began: no reconnection from here on
  std::thread reconnector_;
};

}  // namespace pulse
}  // namespace audiotap

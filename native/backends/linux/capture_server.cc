// Server loss and reconnection (pulse_capture.h). When the server goes away (killed,
// restarted, crashed), the capture drops what it had there and reconnects with back-off; the
// core fills the downtime with silence, and on the new server the capture opens its streams
// again (the app's new ones, followed by name). It ends with ENOSERVER only when no server has
// answered for options.server_timeout_ms (0: at once).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "backends/linux/mute_sink.h"
#include "backends/linux/pulse_capture.h"

namespace audiotap {
namespace pulse {
namespace {

std::string FormatSeconds(uint32_t ms) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", ms / 1000.0);
  return text;
}

}  // namespace

// The server went away. Loop thread of the dead connection, with its lock held.
void PulseCapture::ServerLost(const std::string& why) {
  if (stopped_ || server_lost_) return;
  if (options_.server_timeout_ms == 0) {
    core_->End(EndReason::kError, "ENOSERVER",
               "the audio server went away (" + why + "); the recording ends here");
    return;
  }
  std::lock_guard<std::mutex> guard(reconnect_mutex_);
  if (quitting_) return;
  server_lost_ = true;
  DropServerState();
  NoteServer(false);
  // A reconnection that ended before (an earlier restart) has finished its work.
  if (reconnector_.joinable()) reconnector_.join();
  reconnector_ = std::thread([this, why] { Reconnect(why); });
}

// Reconnection thread: the dead connection is closed here (not on its own loop thread), then
// a new one is tried after 0.1 s, 0.2 s, 0.4 s, then every 0.5 s until the deadline (a try
// costs a connect on a local socket; the recording's gap is the downtime plus at most 0.5 s).
void PulseCapture::Reconnect(const std::string& why) {
  std::unique_ptr<Connection> dead;
  {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    dead = std::move(connection_);
  }
  dead.reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.server_timeout_ms);
  std::chrono::milliseconds wait(100);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(reconnect_mutex_);
      if (reconnect_cv_.wait_for(lock, wait, [this] { return quitting_; })) return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      core_->End(EndReason::kError, "ENOSERVER",
                 "the audio server went away (" + why + ") and did not come back within " +
                     FormatSeconds(options_.server_timeout_ms) + "; the recording ends here");
      return;
    }
    wait = std::min(wait * 2, std::chrono::milliseconds(500));
    std::unique_ptr<Connection> fresh;
    try {
      fresh = std::make_unique<Connection>(token_);
    } catch (const EngineError&) {
      continue;  // no server yet
    }
    std::lock_guard<std::mutex> guard(stop_mutex_);
    connection_ = std::move(fresh);
    bool resumed = false;
    {
      LoopLock lock(*connection_);
      try {
        ResumeLocked();
        server_lost_ = false;
        resumed = true;
      } catch (const EngineError&) {
        DropServerState();  // the server answers but is not ready (no sink yet): try again
      }
    }
    if (resumed) {
      NoteServer(true);
      return;
    }
    connection_.reset();
  }
}

// With the lock held: what the capture had on this server (gone, or not ready): its
// streams, its private sink, its timer.
void PulseCapture::DropServerState() {
  if (timer_) {
    pa_.pa_threaded_mainloop_get_api(connection_->loop())->time_free(timer_);
    timer_ = nullptr;
  }
  for (auto& [index, monitor] : monitors_) CloseMonitor(*monitor);
  monitors_.clear();
  mute_sink_.reset();
  // What the new server's streams say decides (no event for the gap).
  audibility_.Clear();
}

// With the lock held, on a new server: the capture opens again what it records.
void PulseCapture::ResumeLocked() {
  Connection& c = *connection_;
  c.OnLost([this](const std::string& why) { ServerLost(why); });
  pipewire_ = c.OnPipeWire();
  RecoverStraySinks(c);
  stored_routing_ = StreamRestore();
  stored_routing_.Snapshot(c);
  if (options_.target.kind == TargetKind::kSystem && options_.target.exclude.empty()) {
    OpenSinkMonitor();
    return;
  }
  if (options_.target.kind == TargetKind::kInput) {
    OpenInput();
    return;
  }
  FollowSinkInputs(c.SinkInputs());
}

// The server went or came back: the core hears it, or, for a track, the whole capture.
void PulseCapture::NoteServer(bool back) {
  if (host_) {
    host_->TrackServer(track_, back);
  } else {
    core_->NoteServer(back);
  }
}

}  // namespace pulse
}  // namespace audiotap

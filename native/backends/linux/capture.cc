// A running capture. An app is the set of sink-inputs of one process (application.process.id):
// capturing it records a monitor stream (pa_stream_set_monitor_stream) of each of its
// sink-inputs, which the capture core mixes. The system mix is the monitor source of the
// default sink; the mix minus apps monitors every other sink-input. Sink-inputs that appear
// later join; a muted capture records its private sink instead (mute_sink.h).
//
// This file: start and stop, the sink-inputs followed through server events, and whether the
// capture is heard. The rest of the session: pulse_capture.h.
#include "backends/linux/capture.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/linux/connection.h"
#include "backends/linux/mute_sink.h"
#include "backends/linux/pulse_capture.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace pulse {
namespace {

// A random token, 64 bits in hex.
std::string NewToken() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core) {
  if (!options.track_targets.empty()) {
    return StartTrackSet(options, core, [core](const CaptureOptions& one, uint32_t track, TrackHost* host) {
      return StartTrack(one, core, track, host);
    });
  }
  return StartTrack(options, core, 0, nullptr);
}

std::unique_ptr<CaptureSession> StartTrack(const CaptureOptions& options, CaptureCore* core,
                                           uint32_t track, TrackHost* host) {
  auto capture = std::make_unique<PulseCapture>(options, core, track, host);
  capture->Start();
  return capture;
}

PulseCapture::PulseCapture(const CaptureOptions& options, CaptureCore* core, uint32_t track,
                           TrackHost* host)
    : pa_(Pulse()),
      options_(options),
      core_(core),
      track_(track),
      host_(host),
      // PulseAudio has no "muted only while read": a capture is always being read.
      mute_(options.EffectiveMuteMode() != MuteMode::kUnmuted) {}

// Worker thread. Throws EngineError; the destructor then releases what was opened.
void PulseCapture::Start() {
  // A muted capture's connection carries the token its private sink is marked with.
  if (mute_) token_ = NewToken();
  connection_ = std::make_unique<Connection>(token_);
  LoopLock lock(*connection_);
  connection_->OnLost([this](const std::string& why) { ServerLost(why); });
  StartLocked();
}

void PulseCapture::Stop() {
  // A reconnection under way gives up (and is waited for: it may be opening streams).
  std::thread reconnector;
  {
    std::lock_guard<std::mutex> guard(reconnect_mutex_);
    quitting_ = true;
    reconnector = std::move(reconnector_);
  }
  reconnect_cv_.notify_all();
  if (reconnector.joinable()) reconnector.join();
  std::lock_guard<std::mutex> guard(stop_mutex_);
  if (!connection_) return;
  connection_->Lock();
  stopped_ = true;
  if (timer_) {
    pa_.pa_threaded_mainloop_get_api(connection_->loop())->time_free(timer_);
    timer_ = nullptr;
  }
  for (auto& [index, monitor] : monitors_) CloseMonitor(*monitor);
  monitors_.clear();
  if (mute_sink_) mute_sink_->Restore();
  // After the moves back (the server saves each as the app's preferred sink).
  stored_routing_.Restore(*connection_, mute_sink_ ? mute_sink_->moved_keys() : std::set<std::string>{},
                          OwnCaptureKey());
  connection_->Unlock();
  connection_.reset();
  // After the connection: no answer can reach the mute sink any more.
  mute_sink_.reset();
}

void PulseCapture::StartLocked() {
  Connection& c = *connection_;
  const Target& target = options_.target;
  pipewire_ = c.OnPipeWire();  // asked here: OpenMonitor also runs on the loop thread
  RecoverStraySinks(c);
  // Before anything is opened or moved: what the server has stored, to leave it so.
  stored_routing_.Snapshot(c);
  if (mute_ && target.kind != TargetKind::kApp) {
    throw EngineError("EUNSUPPORTED", "mute applies to app captures (one app or several), not "
                                      "to the system mix or an input device");
  }
  if (target.kind == TargetKind::kTap) {
    throw EngineError("EUNSUPPORTED",
                      "attaching to an existing tap is a macOS feature; on Linux capture an "
                      "app or the system mix");
  }
  if (target.kind == TargetKind::kSystem && target.exclude.empty()) {
    // The whole mix of one sink: its monitor source.
    core_->MarkRecording();
    OpenSinkMonitor();
    return;
  }
  if (target.kind == TargetKind::kInput) {
    core_->MarkRecording();
    OpenInput();
    return;
  }

  const std::vector<SinkInput> inputs = c.SinkInputs();
  if (target.kind == TargetKind::kApp) {
    ResolveApps(inputs);
    if (mute_) RefuseIfMutedElsewhere(c, inputs, follow_.pids());
  } else {
    ExcludeApps();
    core_->MarkRecording();
  }
  // 'waiting' only when the capture waits: an app without a stream yet.
  if (FollowSinkInputs(inputs)) core_->MarkTargetPlaying();
}

// With the lock held: a muted capture's private sink, the sink-inputs wanted now and those
// that come later, and (kApp) the exit timer. Returns true when a wanted sink-input plays.
bool PulseCapture::FollowSinkInputs(const std::vector<SinkInput>& inputs) {
  Connection& c = *connection_;
  const Target& target = options_.target;
  if (target.kind == TargetKind::kApp && mute_) {
    mute_sink_ = std::make_unique<MuteSink>(c, core_, stopped_, token_);
    mute_sink_->Create(inputs, follow_.pids(), options_.format, DescribeTarget());
    // The private sink's monitor runs before the first stream moves in, and the sink then
    // restarts (suspended and resumed): a new null sink starts rendering in blocks of 2 s
    // (module-null-sink's longest, with no latency asked of it yet) and keeps its first
    // block's timer, so the app's first 2 s reached the capture late, then not at all. On
    // resume it renders in blocks of the latency the monitor asks for.
    OpenMonitor(PA_INVALID_INDEX, mute_sink_->monitor(), mute_sink_->channels());
    c.WaitUntil(
        [this] {
          auto it = monitors_.find(PA_INVALID_INDEX);
          return it == monitors_.end() ||
                 pa_.pa_stream_get_state(it->second->stream) != PA_STREAM_CREATING;
        },
        "opening the private sink's monitor");
    for (int suspend : {1, 0}) {
      c.Await(pa_.pa_context_suspend_sink_by_index(c.context(), mute_sink_->index(), suspend,
                                                   &OperationDone, &c),
              "restarting the private sink");
    }
  }
  // Follow sink-inputs from here on; subscribe before opening so none is missed.
  pa_.pa_context_set_subscribe_callback(c.context(), &PulseCapture::OnEvent, this);
  c.Await(pa_.pa_context_subscribe(c.context(), PA_SUBSCRIPTION_MASK_SINK_INPUT,
                                   [](pa_context*, int, void* user) {
                                     static_cast<Connection*>(user)->Signal();
                                   },
                                   &c),
          "subscribing to sink-input events");
  bool playing = false;
  for (const SinkInput& input : inputs) {
    if (Wanted(input)) {
      OpenMonitorOfSinkInput(input);
      playing = true;
    }
  }
  if (target.kind == TargetKind::kApp) StartExitTimer();
  return playing;
}

// Loop thread (or worker with the lock held).
void PulseCapture::OpenMonitorOfSinkInput(const SinkInput& input) {
  NoteHeard(input);
  if (mute_sink_) {
    if (!monitors_.count(PA_INVALID_INDEX)) {
      OpenMonitor(PA_INVALID_INDEX, mute_sink_->monitor(), mute_sink_->channels());
    }
    mute_sink_->Move(input);
    return;
  }
  if (monitors_.count(input.index)) return;
  const uint32_t sink_input = input.index;
  const bool corked = input.corked;
  connection_->QuerySink(input.sink, [this, sink_input, corked](pa_context*, const pa_sink_info& info) {
    if (stopped_) return;
    OpenMonitor(sink_input, info.monitor_source, RecordChannels(info.channel_map.channels));
    auto it = monitors_.find(sink_input);
    if (it != monitors_.end()) core_->SetSourcePaused(it->second->source, corked);
  });
}

void PulseCapture::Requery(uint32_t sink_input) {
  pa_operation* op = pa_.pa_context_get_sink_input_info(
      connection_->context(), sink_input,
      [](pa_context*, const pa_sink_input_info* info, int, void* user) {
        auto* self = static_cast<PulseCapture*>(user);
        if (!info || self->stopped_) return;
        const SinkInput input = ToSinkInput(info);
        if (self->mute_sink_ && self->mute_sink_->Holds(input.index)) {
          self->mute_sink_->Changed(input);
          // Moved away by someone else: no longer captured.
          if (self->mute_sink_->Holds(input.index)) {
            self->NoteHeard(input);
          } else {
            self->ForgetHeard(input.index);
          }
          return;
        }
        auto it = self->monitors_.find(input.index);
        if (it != self->monitors_.end()) {
          self->core_->SetSourcePaused(it->second->source, input.corked);
          self->NoteHeard(input);
        } else if (self->Wanted(input)) {
          self->OpenMonitorOfSinkInput(input);
        }
      },
      this);
  if (op) pa_.pa_operation_unref(op);
}

void PulseCapture::OnEvent(pa_context*, pa_subscription_event_type_t type, uint32_t index,
                           void* user) {
  auto* self = static_cast<PulseCapture*>(user);
  if (self->stopped_) return;
  const auto facility = type & PA_SUBSCRIPTION_EVENT_FACILITY_MASK;
  const auto kind = type & PA_SUBSCRIPTION_EVENT_TYPE_MASK;
  if (facility != PA_SUBSCRIPTION_EVENT_SINK_INPUT) return;
  if (kind == PA_SUBSCRIPTION_EVENT_NEW ||
      (kind == PA_SUBSCRIPTION_EVENT_CHANGE &&
       (self->monitors_.count(index) ||
        (self->mute_sink_ && self->mute_sink_->Holds(index))))) {
    self->Requery(index);  // a new sink-input to follow, or a followed one changed
  } else if (kind == PA_SUBSCRIPTION_EVENT_REMOVE) {
    self->ForgetHeard(index);
    if (self->mute_sink_) self->mute_sink_->Forget(index);
    auto it = self->monitors_.find(index);
    if (it != self->monitors_.end()) {
      self->CloseMonitor(*it->second);
      self->monitors_.erase(it);
    }
  }
}

// Loop thread: a captured sink-input's state; tells the core when the capture turns silent
// for a known cause, or stops being so (audibility.h).
void PulseCapture::NoteHeard(const SinkInput& input) {
  audibility_.Note(input.index, input.corked, input.muted, input.volume, SteadyNowNs());
  ReportAudibility();
}

void PulseCapture::ForgetHeard(uint32_t sink_input) {
  audibility_.Forget(sink_input, SteadyNowNs());
  ReportAudibility();
}

// Also every 250 ms (OnTimer): a silence is said once it has lasted (audibility.h).
void PulseCapture::ReportAudibility() {
  const int64_t now = SteadyNowNs();
  if (!audibility_.Changed(now)) return;
  if (audibility_.silent()) {
    // Said after the hold: its position is where it began.
    core_->NoteSilence(true, "muted", audibility_.Message(), now - audibility_.silent_since_ns());
  } else {
    core_->NoteSilence(false, "muted", "");
  }
}

}  // namespace pulse
}  // namespace audiotap

// A running capture. An app is the set of sink-inputs of one process (application.process.id):
// capturing it records a monitor stream (pa_stream_set_monitor_stream) of each of its
// sink-inputs, which the capture core mixes. The system mix is the monitor source of the
// default sink; the mix minus apps monitors every other sink-input. Sink-inputs that appear
// later join; a muted capture records its private sink instead (mute_sink.h).
//
// When the server goes away (killed, restarted, crashed), the capture drops what it had there
// and reconnects with back-off; the core fills the downtime with silence, and on the new server
// the capture opens its streams again (the app's new ones, followed by name). It ends with
// ENOSERVER only when no server has answered for options.server_timeout_ms (0: at once).
#include "backends/linux/capture.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backends/linux/audibility.h"
#include "backends/linux/connection.h"
#include "backends/linux/mute_sink.h"
#include "backends/linux/processes.h"
#include "backends/linux/pulse_api.h"
#include "backends/linux/sink_input.h"
#include "backends/linux/stream_restore.h"
#include "backends/linux/tracks.h"
#include "core/app_follow.h"
#include "core/capture_core.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace pulse {
namespace {

// The steady clock (CLOCK_MONOTONIC), in ns: what the core's timestamps are on.
int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A random token, 64 bits in hex.
std::string NewToken() {
  std::random_device device;
  const uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

class PulseCapture : public CaptureSession {
 public:
  PulseCapture(const CaptureOptions& options, CaptureCore* core, uint32_t track, TrackHost* host)
      : pa_(Pulse()),
        options_(options),
        core_(core),
        track_(track),
        host_(host),
        // PulseAudio has no "muted only while read": a capture is always being read.
        mute_(options.EffectiveMuteMode() != MuteMode::kUnmuted) {}

  ~PulseCapture() override { Stop(); }

  // Worker thread. Throws EngineError; the destructor then releases what was opened.
  void Start() {
    // A muted capture's connection carries the token its private sink is marked with.
    if (mute_) token_ = NewToken();
    connection_ = std::make_unique<Connection>(token_);
    LoopLock lock(*connection_);
    connection_->OnLost([this](const std::string& why) { ServerLost(why); });
    StartLocked();
  }

  void Stop() override {
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

 private:
  struct Monitor {
    PulseCapture* owner;
    uint32_t sink_input;  // PA_INVALID_INDEX for a plain sink monitor
    pa_stream* stream = nullptr;
    int source = -1;
    size_t frame_bytes = 0;  // of the recorded stream (its own channel count)
  };

  void StartLocked() {
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
      for (const AppSelector& selector : target.exclude) {
        if (selector.pid > 0) {
          exclude_pids_.insert(selector.pid);
        } else {
          exclude_names_.push_back(AsciiLower(selector.name));
        }
      }
      core_->MarkRecording();
    }
    // 'waiting' only when the capture waits: an app without a stream yet.
    if (FollowSinkInputs(inputs)) core_->MarkTargetPlaying();
  }

  // With the lock held: the whole mix of one sink, its monitor source.
  void OpenSinkMonitor() {
    const SinkSummary sink = connection_->RequireSink(options_.device);
    OpenMonitor(PA_INVALID_INDEX, sink.monitor, RecordChannels(sink.channels));
  }

  // With the lock held: an input device (a source such as a microphone), recorded as it is.
  void OpenInput() {
    const std::string& name = options_.target.device.empty() ? options_.device : options_.target.device;
    const Connection::SourceSummary source = connection_->RequireSource(name);
    OpenMonitor(PA_INVALID_INDEX, source.index, RecordChannels(source.channels));
  }

  // With the lock held: a muted capture's private sink, the sink-inputs wanted now and those
  // that come later, and (kApp) the exit timer. Returns true when a wanted sink-input plays.
  bool FollowSinkInputs(const std::vector<SinkInput>& inputs) {
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

  // The server went away. Loop thread of the dead connection, with its lock held.
  void ServerLost(const std::string& why) {
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
  void Reconnect(const std::string& why) {
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
  void DropServerState() {
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
  void ResumeLocked() {
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

  static std::string FormatSeconds(uint32_t ms) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g s", ms / 1000.0);
    return text;
  }

  // Turns the app selectors into PIDs now playing, or names being waited for.
  void ResolveApps(const std::vector<SinkInput>& inputs) {
    for (const AppSelector& selector : options_.target.apps) {
      if (selector.pid > 0) {
        if (!ProcessAlive(selector.pid)) {
          throw EngineError("ENOAPP", "no running process has PID " +
                                          std::to_string(selector.pid) +
                                          ". Apps playing now: " + DescribeApps(inputs));
        }
        follow_.Pin(selector.pid);
        continue;
      }
      const std::string lower = AsciiLower(selector.name);
      std::set<int32_t> playing;
      std::vector<SinkInput> matches;
      for (const SinkInput& input : inputs) {
        if (SinkInputNamed(input, lower) && input.pid > 0 && playing.insert(input.pid).second) {
          matches.push_back(input);
        }
      }
      if (matches.size() > 1) {
        throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches " +
                                            std::to_string(matches.size()) +
                                            " apps: " + DescribeApps(matches) +
                                            ". Choose one by PID.");
      }
      if (matches.size() == 1) {
        follow_.Pin(matches[0].pid);
        if (options_.follow) follow_.Follow(lower);
        continue;
      }
      // A followed name may be armed before the app runs: the capture waits for its first
      // stream. Strict, or not followed: the app must run now.
      if ((options_.strict || !options_.follow) && ProcessesNamed(selector.name).empty()) {
        throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                        "\". Apps playing now: " + DescribeApps(inputs) +
                                        ". Start the app first, or check the name.");
      }
      if (options_.follow) {
        follow_.Follow(lower);
      } else {
        follow_.Await(lower);
      }
    }
  }

  bool Wanted(const SinkInput& input) {
    if (options_.target.kind == TargetKind::kSystem) {
      if (exclude_pids_.count(input.pid)) return false;
      for (const std::string& name : exclude_names_) {
        if (SinkInputNamed(input, name)) return false;
      }
      return true;
    }
    // A followed name: every process that plays under it joins, the app's next runs too; a
    // name awaited is pinned to the first process that plays under it (core/app_follow.h).
    const auto named = [&input](const std::string& name) { return SinkInputNamed(input, name); };
    switch (follow_.ClaimProcess(input.pid, named)) {
      case AppFollow::Claim::kBack:
        core_->NoteTarget(true, host_ ? static_cast<int>(track_) : -1);
        return true;
      case AppFollow::Claim::kYes:
        return true;
      case AppFollow::Claim::kNo:
        break;
    }
    // A child of the app plays for it (a browser's audio process, a player's helper).
    return options_.process_tree && input.pid > 0 && DescendantOf(input.pid, follow_.pids());
  }

  std::string DescribeTarget() const {
    std::string text;
    for (const AppSelector& app : options_.target.apps) {
      if (!text.empty()) text += ",";
      text += app.pid > 0 ? std::to_string(app.pid) : app.name;
    }
    // Module arguments are split on spaces and quotes: keep the value one word.
    for (char& ch : text) {
      if (ch == ' ' || ch == '"' || ch == '\'' || ch == '=') ch = '_';
    }
    return text;
  }

  // Loop thread (or worker with the lock held).
  void OpenMonitorOfSinkInput(const SinkInput& input) {
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

  // `channels`: what to record (RecordChannels); the core converts to the caller's count.
  void OpenMonitor(uint32_t sink_input, uint32_t monitor_source, uint32_t channels) {
    if (sink_input != PA_INVALID_INDEX && monitors_.count(sink_input)) return;
    Format recorded = options_.format;
    recorded.channels = channels;
    const pa_sample_spec spec = SampleSpecOf(recorded);
    const pa_channel_map map = ChannelMapOf(recorded);

    auto monitor = std::make_unique<Monitor>(Monitor{this, sink_input});
    monitor->frame_bytes = recorded.BytesPerFrame();
    // The source recorded from is the device clock: PulseAudio renders a sink's inputs with
    // its monitor and sends each its part at once, so their streams are placed to the frame
    // (core/capture_core.h, Placement). pipewire-pulse sends record streams in fragments cut
    // from the graph's quanta, a monitor a quantum later: placed by their stamps alone.
    const uint64_t clock = pipewire_ ? 0 : uint64_t{monitor_source} + 1;
    monitor->source = core_->AcquireSource(channels, track_, clock);
    if (monitor->source < 0) {
      core_->sink()->OnWarning("", "too many streams to mix (more than " +
                               std::to_string(CaptureCore::kMaxSources) + "); sink-input " +
                               std::to_string(sink_input) + " is left out");
      return;
    }
    monitor->stream = pa_.pa_stream_new(connection_->context(), "audio-tap monitor", &spec, &map);
    if (!monitor->stream) {
      core_->ReleaseSource(monitor->source);
      core_->sink()->OnWarning("", "could not create a monitor stream: " + connection_->LastError());
      return;
    }
    if (sink_input != PA_INVALID_INDEX) {
      pa_.pa_stream_set_monitor_stream(monitor->stream, sink_input);
    }
    pa_.pa_stream_set_read_callback(monitor->stream, &PulseCapture::OnRead, monitor.get());
    pa_.pa_stream_set_state_callback(monitor->stream, &PulseCapture::OnStreamState, monitor.get());
    pa_buffer_attr attr;
    attr.maxlength = static_cast<uint32_t>(-1);
    attr.tlength = attr.prebuf = attr.minreq = static_cast<uint32_t>(-1);
    // Fragments of half a chunk keep the drain's latency near one chunk.
    attr.fragsize = options_.chunk_frames * recorded.BytesPerFrame() / 2;
    const std::string device = std::to_string(monitor_source);
    // Not PA_STREAM_DONT_INHIBIT_AUTO_SUSPEND: a suspended monitor source delivers nothing,
    // not even the sink-input's own monitor data.
    const auto flags = static_cast<pa_stream_flags_t>(
        PA_STREAM_ADJUST_LATENCY | PA_STREAM_DONT_MOVE);
    if (pa_.pa_stream_connect_record(monitor->stream, device.c_str(), &attr, flags) < 0) {
      const std::string why = connection_->LastError();
      CloseMonitor(*monitor);
      core_->sink()->OnWarning("", "could not monitor sink-input " + std::to_string(sink_input) +
                               ": " + why);
      return;
    }
    monitors_[sink_input] = std::move(monitor);
  }

  void CloseMonitor(Monitor& monitor) {
    if (monitor.stream) {
      pa_.pa_stream_set_read_callback(monitor.stream, nullptr, nullptr);
      pa_.pa_stream_set_state_callback(monitor.stream, nullptr, nullptr);
      if (pa_.pa_stream_get_state(monitor.stream) != PA_STREAM_UNCONNECTED) {
        pa_.pa_stream_disconnect(monitor.stream);
      }
      pa_.pa_stream_unref(monitor.stream);
      monitor.stream = nullptr;
    }
    if (monitor.source >= 0) core_->ReleaseSource(monitor.source);
    monitor.source = -1;
  }

  // The real-time path: copy into the core's ring, nothing else. Each block is stamped with
  // when its first frame was rendered: the server renders a sink's inputs and its monitor in
  // one pass and sends at once, so the newest frame readable now was rendered about now (to
  // a few frames, measured against the sink's monitor: docs/linux.md). The core places a
  // stream that starts later by it (core/capture_core.h, Placement).
  static void OnRead(pa_stream* stream, size_t, void* user) {
    auto* monitor = static_cast<Monitor*>(user);
    PulseCapture* self = monitor->owner;
    const PulseApi& pa = self->pa_;
    const size_t frame = monitor->frame_bytes;
    const int64_t rate = self->core_->format().sample_rate;
    const int64_t now_ns = SteadyNowNs();
    const void* data = nullptr;
    size_t bytes = 0;
    for (;;) {
      const size_t readable = pa.pa_stream_readable_size(stream);
      if (readable == 0 || readable == static_cast<size_t>(-1)) return;
      if (pa.pa_stream_peek(stream, &data, &bytes) < 0 || bytes == 0) return;
      if (data) {
        const int64_t ahead = static_cast<int64_t>(readable / frame);
        self->core_->Write(monitor->source, data, bytes / frame,
                           now_ns - ahead * 1000000000 / rate);
      } else {
        self->core_->WriteSilence(monitor->source, bytes / frame);  // a hole in the stream
      }
      pa.pa_stream_drop(stream);
    }
  }

  static void OnStreamState(pa_stream* stream, void* user) {
    auto* monitor = static_cast<Monitor*>(user);
    PulseCapture* self = monitor->owner;
    self->connection_->Signal();  // a worker may wait for the stream to be ready
    const pa_stream_state_t state = self->pa_.pa_stream_get_state(stream);
    if (state != PA_STREAM_FAILED && state != PA_STREAM_TERMINATED) return;
    if (!PA_CONTEXT_IS_GOOD(self->pa_.pa_context_get_state(self->connection_->context()))) {
      return;  // the whole connection is gone, not just this stream: ServerLost sees to it
    }
    // The server killed the monitor: its sink-input was moved or removed, or the sink went
    // away. Close it; a sink-input that still exists is monitored again where it now plays.
    const uint32_t sink_input = monitor->sink_input;
    auto it = self->monitors_.find(sink_input);
    if (it == self->monitors_.end() || it->second.get() != monitor) return;
    self->CloseMonitor(*monitor);
    self->monitors_.erase(it);
    if (sink_input == PA_INVALID_INDEX) {
      self->core_->End(EndReason::kError, "EOS", "the output device being recorded went away");
      return;
    }
    self->Requery(sink_input);
  }

  void Requery(uint32_t sink_input) {
    pa_operation* op = pa_.pa_context_get_sink_input_info(
        connection_->context(), sink_input,
        [](pa_context*, const pa_sink_input_info* info, int eol, void* user) {
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

  static void OnEvent(pa_context*, pa_subscription_event_type_t type, uint32_t index,
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
  void NoteHeard(const SinkInput& input) {
    audibility_.Note(input.index, input.corked, input.muted, input.volume, SteadyNowNs());
    ReportAudibility();
  }

  void ForgetHeard(uint32_t sink_input) {
    audibility_.Forget(sink_input, SteadyNowNs());
    ReportAudibility();
  }

  // Also every 250 ms (OnTimer): a silence is said once it has lasted (audibility.h).
  void ReportAudibility() {
    const int64_t now = SteadyNowNs();
    if (!audibility_.Changed(now)) return;
    if (audibility_.silent()) {
      // Said after the hold: its position is where it began.
      core_->NoteSilence(true, "muted", audibility_.Message(), now - audibility_.silent_since_ns());
    } else {
      core_->NoteSilence(false, "muted", "");
    }
  }

  // kApp: every 250 ms, the app's state (core/app_follow.h): gone while followed, or exited,
  // which ends the capture.
  void StartExitTimer() {
    timer_ = pa_.pa_context_rttime_new(connection_->context(), pa_.pa_rtclock_now() + 250000,
                                       &PulseCapture::OnTimer, this);
  }

  static void OnTimer(pa_mainloop_api*, pa_time_event* event, const struct timeval*, void* user) {
    auto* self = static_cast<PulseCapture*>(user);
    if (self->stopped_) return;
    const bool streams = self->mute_sink_ ? !self->mute_sink_->empty() : !self->monitors_.empty();
    const auto name_runs = [](const std::string& name) { return !ProcessesNamed(name).empty(); };
    switch (self->follow_.Tick(&ProcessAlive, name_runs, streams)) {
      case AppFollow::Verdict::kExited:
        if (self->host_) {
          // One track's app: its track records silence from here; the whole ends with the last.
          self->core_->NoteTarget(false, static_cast<int>(self->track_));
          self->host_->TrackExited(self->track_);
        } else {
          self->core_->End(EndReason::kTargetExited, "", "the app exited");
        }
        return;
      case AppFollow::Verdict::kGone:
        self->core_->NoteTarget(false, self->host_ ? static_cast<int>(self->track_) : -1);
        break;
      case AppFollow::Verdict::kNone:
        break;
    }
    self->ReportAudibility();
    self->pa_.pa_context_rttime_restart(self->connection_->context(), event,
                                        self->pa_.pa_rtclock_now() + 250000);
  }

  // The server went or came back: the core hears it, or, for a track, the whole capture.
  void NoteServer(bool back) {
    if (host_) {
      host_->TrackServer(track_, back);
    } else {
      core_->NoteServer(back);
    }
  }

  const PulseApi& pa_;
  const CaptureOptions options_;
  CaptureCore* const core_;
  const uint32_t track_;     // the core's track its sources go to (0 for a plain capture)
  bool pipewire_ = false;    // the server is pipewire-pulse (asked at start and on a new server)
  TrackHost* const host_;    // a multitrack capture's whole (tracks.cc); null for a plain one
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

}  // namespace

std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core) {
  if (!options.track_targets.empty()) return StartTracks(options, core);
  return StartTrack(options, core, 0, nullptr);
}

std::unique_ptr<CaptureSession> StartTrack(const CaptureOptions& options, CaptureCore* core,
                                           uint32_t track, TrackHost* host) {
  auto capture = std::make_unique<PulseCapture>(options, core, track, host);
  capture->Start();
  return capture;
}

}  // namespace pulse
}  // namespace audiotap

// The monitor streams of a capture (pulse_capture.h) and the real-time path: a record stream
// of a sink-input's monitor (pa_stream_set_monitor_stream), of a sink's monitor source, or of
// an input device, each the core's source; its read callback copies into the core's ring.
#include <memory>
#include <string>

#include "backends/linux/pulse_capture.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace pulse {

// With the lock held: the whole mix of one sink, its monitor source.
void PulseCapture::OpenSinkMonitor() {
  const SinkSummary sink = connection_->RequireSink(options_.device);
  OpenMonitor(PA_INVALID_INDEX, sink.monitor, RecordChannels(sink.channels));
}

// With the lock held: an input device (a source such as a microphone), recorded as it is.
void PulseCapture::OpenInput() {
  const std::string& name = options_.target.device.empty() ? options_.device : options_.target.device;
  const Connection::SourceSummary source = connection_->RequireSource(name);
  OpenMonitor(PA_INVALID_INDEX, source.index, RecordChannels(source.channels));
}

// `channels`: what to record (RecordChannels); the core converts to the caller's count.
void PulseCapture::OpenMonitor(uint32_t sink_input, uint32_t monitor_source, uint32_t channels) {
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
  // Half a chunk. With PA_STREAM_ADJUST_LATENCY the server sets the source's latency to half of
  // it, so every render reaches every monitor stream of the sink at once: placement matches the
  // blocks of one render across streams (core/capture_core.h, Placement). Fragments of a whole
  // chunk (tried: the server used 1.3 % of a core instead of 2.4 % at 10 ms chunks) put tracks
  // 26 to 1,044 frames apart in 6 of 20 runs of test/tracks.test.ts's burst test, 0 of 25 with
  // half a chunk: the streams' latest blocks no longer came from one render, and placement
  // fell back to their stamps.
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

void PulseCapture::CloseMonitor(Monitor& monitor) {
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

// The read path: copy into the core's ring, then wake its drain once the source holds a chunk
// (libpulse's mainloop thread is not a real-time thread: a futex wake is allowed here, a lock
// or an allocation still is not). Each block is stamped with when its first frame was
// rendered: the server renders a sink's inputs and its monitor in one pass and sends at once,
// so the newest frame readable now was rendered about now (to a few frames, measured against
// the sink's monitor: docs/linux.md). The core places a stream that starts later by it
// (core/capture_core.h, Placement).
void PulseCapture::OnRead(pa_stream* stream, size_t, void* user) {
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
    if (readable == 0 || readable == static_cast<size_t>(-1)) break;
    if (pa.pa_stream_peek(stream, &data, &bytes) < 0 || bytes == 0) break;
    if (data) {
      const int64_t ahead = static_cast<int64_t>(readable / frame);
      self->core_->Write(monitor->source, data, bytes / frame,
                         now_ns - ahead * 1000000000 / rate);
    } else {
      self->core_->WriteSilence(monitor->source, bytes / frame);  // a hole in the stream
    }
    pa.pa_stream_drop(stream);
  }
  self->core_->Written(monitor->source);
}

void PulseCapture::OnStreamState(pa_stream* stream, void* user) {
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

}  // namespace pulse
}  // namespace audiotap

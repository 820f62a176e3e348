// Playback (audio-out): a playback stream whose write callback pulls from the PlaybackCore.
#include "backends/linux/playback.h"

#include <algorithm>
#include <memory>
#include <mutex>

#include "backends/linux/connection.h"
#include "backends/linux/pulse_api.h"

namespace audiotap {
namespace pulse {
namespace {

class PulsePlayback : public PlaybackSession {
 public:
  PulsePlayback(const PlaybackOptions& options, PlaybackCore* core)
      : pa_(Pulse()), options_(options), core_(core) {}
  ~PulsePlayback() override { Stop(); }

  void Start() {
    connection_ = std::make_unique<Connection>();
    Connection& c = *connection_;
    try {
      LoopLock lock(c);
      // Asked first: pipewire-pulse accepts any device name and WirePlumber then plays to the
      // default sink, where PulseAudio fails the stream. ENOAPP on both.
      if (!options_.device.empty()) c.RequireSink(options_.device);
      const pa_sample_spec spec = SampleSpecOf(options_.format);
      const pa_channel_map map = ChannelMapOf(options_.format);
      stream_ = pa_.pa_stream_new(c.context(), "audio-tap output", &spec, &map);
      if (!stream_) throw EngineError("EOS", "pa_stream_new failed: " + c.LastError());
      pa_.pa_stream_set_write_callback(stream_, &PulsePlayback::OnWrite, this);
      pa_.pa_stream_set_underflow_callback(
          stream_,
          [](pa_stream*, void* user) {
            static_cast<PulsePlayback*>(user)->core_->NoteOutputUnderflow();
          },
          this);
      pa_.pa_stream_set_state_callback(
          stream_, [](pa_stream*, void* user) { static_cast<Connection*>(user)->Signal(); }, &c);
      // The server's buffer: the jitter buffer lives in the PlaybackCore (where the underruns
      // it absorbs are counted); the server's only has to cover this process's scheduling,
      // so half the jitter buffer, 20..100 ms.
      pa_buffer_attr attr;
      attr.maxlength = static_cast<uint32_t>(-1);
      const uint32_t target_frames = std::clamp<uint32_t>(
          options_.buffer_frames / 2, options_.format.sample_rate / 50,
          options_.format.sample_rate / 10);
      attr.tlength = target_frames * options_.format.BytesPerFrame();
      attr.prebuf = static_cast<uint32_t>(-1);
      attr.minreq = static_cast<uint32_t>(-1);
      attr.fragsize = static_cast<uint32_t>(-1);
      const auto flags = static_cast<pa_stream_flags_t>(
          PA_STREAM_ADJUST_LATENCY | PA_STREAM_AUTO_TIMING_UPDATE | PA_STREAM_INTERPOLATE_TIMING);
      if (pa_.pa_stream_connect_playback(stream_,
                                         options_.device.empty() ? nullptr : options_.device.c_str(),
                                         &attr, flags, nullptr, nullptr) < 0) {
        throw EngineError("EOS", "pa_stream_connect_playback failed: " + c.LastError());
      }
      pa_stream_state_t state = PA_STREAM_CREATING;
      c.WaitUntil([&] { return (state = pa_.pa_stream_get_state(stream_)) != PA_STREAM_CREATING; },
                  "opening the playback stream");
      if (state != PA_STREAM_READY) {
        if (!options_.device.empty()) {
          throw EngineError("ENOAPP", "cannot play to output device \"" + options_.device + "\" (" +
                                          c.LastError() +
                                          "); list devices with `pactl list short sinks`");
        }
        throw EngineError("EOS", "the playback stream failed: " + c.LastError());
      }
    } catch (...) {
      Stop();  // the lock is released by now
      throw;
    }
  }

  void Stop() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (!connection_) return;
    connection_->Lock();
    if (stream_) {
      pa_.pa_stream_set_write_callback(stream_, nullptr, nullptr);
      pa_.pa_stream_set_underflow_callback(stream_, nullptr, nullptr);
      pa_.pa_stream_set_state_callback(stream_, nullptr, nullptr);
      if (pa_.pa_stream_get_state(stream_) != PA_STREAM_UNCONNECTED) pa_.pa_stream_disconnect(stream_);
      pa_.pa_stream_unref(stream_);
      stream_ = nullptr;
    }
    connection_->Unlock();
    connection_.reset();
  }

  int64_t OutputLatencyFrames() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (!connection_ || !stream_) return -1;
    connection_->Lock();
    pa_usec_t usec = 0;
    int negative = 0;
    const bool ok = pa_.pa_stream_get_latency(stream_, &usec, &negative) == 0;
    connection_->Unlock();
    if (!ok) return -1;
    const int64_t frames =
        static_cast<int64_t>(usec * static_cast<uint64_t>(options_.format.sample_rate) / 1000000);
    return negative ? -frames : frames;
  }

 private:
  // The real-time path: fill the server's buffer straight from the jitter buffer.
  static void OnWrite(pa_stream* stream, size_t nbytes, void* user) {
    auto* self = static_cast<PulsePlayback*>(user);
    const PulseApi& pa = self->pa_;
    const size_t frame = self->options_.format.BytesPerFrame();
    while (nbytes >= frame) {
      void* data = nullptr;
      size_t n = nbytes;
      if (pa.pa_stream_begin_write(stream, &data, &n) < 0 || !data) return;
      n -= n % frame;
      if (n == 0) return;
      self->core_->Pull(data, n / frame);
      pa.pa_stream_write(stream, data, n, nullptr, 0, PA_SEEK_RELATIVE);
      nbytes -= std::min(n, nbytes);
    }
  }

  const PulseApi& pa_;
  const PlaybackOptions options_;
  PlaybackCore* const core_;
  std::unique_ptr<Connection> connection_;
  std::mutex stop_mutex_;
  pa_stream* stream_ = nullptr;
};

}  // namespace

std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core) {
  auto playback = std::make_unique<PulsePlayback>(options, core);
  playback->Start();
  return playback;
}

}  // namespace pulse
}  // namespace audiotap

#include "core/capture_core.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>

#include "core/channel_mix.h"

namespace audiotap {

const char* EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kStopped: return "stopped";
    case EndReason::kTargetExited: return "target-exited";
    case EndReason::kError: return "error";
  }
  return "error";
}

namespace {
// Each source's ring holds 4 s (of kMaxSourceChannels channels: more for fewer): far more than
// one chunk of drain latency, so an overrun means the drain thread stalled, not ordinary jitter.
constexpr double kRingSeconds = 4.0;
}  // namespace

CaptureCore::CaptureCore(const CaptureOptions& options, EventSink* sink)
    : format_(options.format),
      bytes_per_frame_(options.format.BytesPerFrame()),
      chunk_frames_(options.chunk_frames),
      chunk_ns_(static_cast<int64_t>(options.chunk_frames) * 1000000000LL /
                options.format.sample_rate),
      // A source that has written nothing for this long stops holding the mix back. It must
      // exceed the gaps between a live source's bursts (PulseAudio renders ahead in blocks).
      hold_ns_(std::max<int64_t>(5 * chunk_ns_, 500000000LL)),
      ring_bytes_(static_cast<size_t>(kRingSeconds * options.format.sample_rate) *
                  std::max(options.format.channels, kMaxSourceChannels) *
                  BytesPerSample(options.format.encoding)),
      sink_(sink) {
  const size_t chunk_samples = static_cast<size_t>(chunk_frames_) * format_.channels;
  scratch_.resize(static_cast<size_t>(chunk_frames_) * bytes_per_frame_);
  convert_.resize(static_cast<size_t>(chunk_frames_) * kMaxSourceChannels *
                  BytesPerSample(format_.encoding));
  if (format_.encoding == SampleEncoding::kF32LE) {
    mix_f32_.resize(chunk_samples);
  } else {
    mix_s32_.resize(chunk_samples);
  }
}

CaptureCore::~CaptureCore() { Join(); }

#ifdef AUDIOTAP_TEST_CLOCK
// Unit tests (test/native/core/capture_core_test.cc) build the core against a clock they advance
// by hand, so the hold time and the silence fill are tested without sleeping. The addon never
// defines this: production reads steady_clock directly.
int64_t TestClockNs();
#endif

int64_t CaptureCore::NowNs() {
#ifdef AUDIOTAP_TEST_CLOCK
  return TestClockNs();
#else
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
#endif
}

int CaptureCore::AcquireSource(uint32_t channels) {
  if (channels == 0) channels = format_.channels;
  if (!CanConvertChannels(channels, format_.channels)) {
    throw EngineError("EFORMAT", "a capture source of " + std::to_string(channels) +
                                     " channels cannot be converted to " +
                                     std::to_string(format_.channels));
  }
  std::lock_guard<std::mutex> lock(acquire_mutex_);
  for (int id = 0; id < kMaxSources; ++id) {
    Slot& slot = slots_[id];
    if (slot.state.load(std::memory_order_acquire) != kFree) continue;
    // A free slot is not read by the drain thread, so its ring may be (re)initialised here.
    if (slot.ring.Capacity() == 0) slot.ring.Allocate(ring_bytes_);
    slot.ring.Reset();
    slot.last_write_ns.store(NowNs(), std::memory_order_relaxed);
    slot.paused.store(false, std::memory_order_relaxed);
    slot.channels.store(channels, std::memory_order_relaxed);
    slot.bytes_per_frame.store(channels * BytesPerSample(format_.encoding),
                               std::memory_order_relaxed);
    slot.state.store(kActive, std::memory_order_release);
    sources_.fetch_add(1, std::memory_order_relaxed);
    return id;
  }
  return -1;
}

void CaptureCore::ReleaseSource(int id) {
  if (id < 0 || id >= kMaxSources) return;
  int expected = kActive;
  if (slots_[id].state.compare_exchange_strong(expected, kReleased, std::memory_order_acq_rel)) {
    sources_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void CaptureCore::SetSourcePaused(int id, bool paused) {
  if (id < 0 || id >= kMaxSources) return;
  slots_[id].paused.store(paused, std::memory_order_relaxed);
}

void CaptureCore::Write(int id, const void* frames, size_t frame_count) {
  Slot& slot = slots_[id];
  const size_t frame_bytes = slot.bytes_per_frame.load(std::memory_order_relaxed);
  const size_t bytes = frame_count * frame_bytes;
  const size_t written = slot.ring.Write(frames, bytes);
  if (written < bytes) {
    overrun_frames_.fetch_add((bytes - written) / frame_bytes, std::memory_order_relaxed);
  }
  slot.last_write_ns.store(NowNs(), std::memory_order_relaxed);
}

void CaptureCore::WriteSilence(int id, size_t frame_count) {
  Slot& slot = slots_[id];
  const size_t frame_bytes = slot.bytes_per_frame.load(std::memory_order_relaxed);
  const size_t bytes = frame_count * frame_bytes;
  const size_t written = slot.ring.WriteZeros(bytes);
  if (written < bytes) {
    overrun_frames_.fetch_add((bytes - written) / frame_bytes, std::memory_order_relaxed);
  }
  slot.last_write_ns.store(NowNs(), std::memory_order_relaxed);
}

void CaptureCore::Start() {
  if (started_.exchange(true)) return;
  drain_ = std::thread([this] { DrainLoop(); });
}

void CaptureCore::End(EndReason reason, std::string code, std::string message) {
  {
    std::lock_guard<std::mutex> lock(end_mutex_);
    if (end_requested_) return;
    end_requested_ = true;
    end_reason_ = reason;
    end_code_ = std::move(code);
    end_message_ = std::move(message);
  }
  end_cv_.notify_all();
}

void CaptureCore::Join() {
  End(EndReason::kStopped);
  if (drain_.joinable() && drain_.get_id() != std::this_thread::get_id()) drain_.join();
}

CaptureStats CaptureCore::Stats() const {
  CaptureStats stats;
  stats.frames = frames_.load(std::memory_order_relaxed);
  stats.chunks = chunks_.load(std::memory_order_relaxed);
  stats.dropped_chunks = dropped_chunks_.load(std::memory_order_relaxed);
  stats.dropped_frames = dropped_frames_.load(std::memory_order_relaxed);
  stats.overrun_frames = overrun_frames_.load(std::memory_order_relaxed);
  stats.sources = sources_.load(std::memory_order_relaxed);
  return stats;
}

void CaptureCore::DrainLoop() {
  // Poll a few times per chunk: the producer side never signals (that would mean a syscall or
  // a lock on the audio thread).
  const auto tick = std::chrono::nanoseconds(
      std::clamp<int64_t>(chunk_ns_ / 4, 1000000LL, 10000000LL));
  if (!target_playing_.load(std::memory_order_acquire) &&
      !mark_recording_.load(std::memory_order_acquire)) {
    sink_->OnState(CaptureState::kWaiting);
  }
  for (;;) {
    bool ending;
    {
      std::unique_lock<std::mutex> lock(end_mutex_);
      end_cv_.wait_for(lock, tick, [this] { return end_requested_; });
      ending = end_requested_;
    }
    Pump(ending);
    if (ending) break;
  }
  std::string code, message;
  EndReason reason;
  {
    std::lock_guard<std::mutex> lock(end_mutex_);
    reason = end_reason_;
    code = end_code_;
    message = end_message_;
  }
  sink_->OnEnd(reason, code, message, Stats());
}

void CaptureCore::Pump(bool flush) {
  // A flush emits what the sources hold when it begins (the largest backlog, which drains
  // every source) and no more: a producer still writing must not keep the stop from ending.
  bool first_pass = true;
  size_t flush_budget = 0;  // frames
  for (;;) {
    const int64_t now = NowNs();
    bool any_gating = false;
    bool any_live = false;  // an open source that is not paused
    size_t gating_min = SIZE_MAX;
    size_t max_avail = 0;
    for (Slot& slot : slots_) {
      const int state = slot.state.load(std::memory_order_acquire);
      if (state == kFree) continue;
      const size_t avail =
          slot.ring.Readable() / slot.bytes_per_frame.load(std::memory_order_relaxed);
      if (state == kReleased && avail == 0) {
        slot.state.store(kFree, std::memory_order_release);
        continue;
      }
      const bool paused = slot.paused.load(std::memory_order_relaxed);
      if (state == kActive && !paused) any_live = true;
      const bool quiet = state == kReleased || paused ||
          now - slot.last_write_ns.load(std::memory_order_relaxed) > hold_ns_;
      if (!quiet) {
        any_gating = true;
        gating_min = std::min(gating_min, avail);
      }
      max_avail = std::max(max_avail, avail);
    }

    // The timeline starts with the first frame any source delivers (or at once for targets
    // that are always there, such as the system mix).
    if (!recording_) {
      if (max_avail == 0 && !mark_recording_.load(std::memory_order_acquire)) return;
      recording_ = true;
      anchor_ns_.store(now, std::memory_order_release);
      sink_->OnState(CaptureState::kRecording);
    }

    if (flush) {
      // At the end nothing is waited for: whole chunks while any source holds one, then one
      // short last chunk. One chunk per EmitMix, however far ahead a source is (up to its
      // ring's 4 s): the mix buffers hold one chunk.
      if (first_pass) flush_budget = max_avail;
      first_pass = false;
      const size_t frames = std::min({max_avail, flush_budget, size_t{chunk_frames_}});
      if (frames == 0) return;
      EmitMix(frames);
      flush_budget -= frames;
      continue;
    }
    // A source went live after the clock filled silence (an app that plays again, a server
    // back, a player resumed): silence up to the wall clock first, the hold time the fill
    // trailed by, at most a chunk short.
    if (any_live && filling_) {
      filling_ = false;
      const int64_t elapsed_ns = now - anchor_ns_.load(std::memory_order_relaxed);
      if (elapsed_ns > 0) {
        const uint64_t due = static_cast<uint64_t>(static_cast<double>(elapsed_ns) *
                                                   format_.sample_rate / 1e9);
        while (frames_.load(std::memory_order_relaxed) + chunk_frames_ <= due) {
          EmitMix(chunk_frames_, true);
        }
      }
    }
    // Data-driven: every source still delivering has a whole chunk (or, when none is, a
    // source that stopped still holds one).
    if ((any_gating && gating_min >= chunk_frames_) ||
        (!any_gating && max_avail >= chunk_frames_)) {
      EmitMix(chunk_frames_);
      continue;
    }
    // Clock-driven: no source is open and live, and the timeline has fallen behind the wall
    // clock by more than the hold time; fill with silence (plus whatever a stopped source
    // left). A live source that is late or bursty (PulseAudio renders ahead in blocks, and a
    // new monitor stream can take a second to start) is waited for instead: filling would
    // put a gap into its audio.
    const int64_t behind_ns = now - anchor_ns_.load(std::memory_order_relaxed) - hold_ns_;
    if (!any_live && behind_ns > 0) {
      // Converted only when positive: a negative double cast to uint64_t is undefined.
      const uint64_t due = static_cast<uint64_t>(static_cast<double>(behind_ns) *
                                                 format_.sample_rate / 1e9);
      if (frames_.load(std::memory_order_relaxed) + chunk_frames_ <= due) {
        EmitMix(chunk_frames_);
        filling_ = true;
        continue;
      }
    }
    return;
  }
}

uint64_t CaptureCore::ClockPosition() const {
  const uint64_t produced = frames_.load(std::memory_order_relaxed);
  const int64_t anchor = anchor_ns_.load(std::memory_order_acquire);
  const int64_t elapsed_ns = NowNs() - anchor;
  if (anchor == 0 || elapsed_ns <= 0) return produced;
  const uint64_t clock = static_cast<uint64_t>(static_cast<double>(elapsed_ns) * format_.sample_rate / 1e9);
  return std::max(produced, clock);
}

void CaptureCore::EmitMix(size_t frames, bool silence) {
  // scratch_ and mix_*_ hold one chunk. Past it, a second source's frames would be written
  // beyond them; clamping instead leaves the rest in the rings for the next chunk.
  assert(frames <= chunk_frames_);
  frames = std::min(frames, size_t{chunk_frames_});
  const size_t bytes = frames * bytes_per_frame_;
  const size_t samples = frames * format_.channels;
  std::vector<uint8_t> out(bytes, 0);
  int contributors = 0;
  for (Slot& slot : slots_) {
    if (silence) break;
    if (slot.state.load(std::memory_order_acquire) == kFree) continue;
    // The first source reads straight into the chunk (the usual case: one stream).
    uint8_t* into = contributors == 0 ? out.data() : scratch_.data();
    const uint32_t channels = slot.channels.load(std::memory_order_relaxed);
    size_t got;
    if (channels == format_.channels) {
      got = slot.ring.Read(into, bytes);
    } else {
      const size_t frame_bytes = slot.bytes_per_frame.load(std::memory_order_relaxed);
      const size_t got_frames = slot.ring.Read(convert_.data(), frames * frame_bytes) / frame_bytes;
      ConvertChannels(format_.encoding, convert_.data(), channels, into, format_.channels,
                      got_frames);
      got = got_frames * bytes_per_frame_;
    }
    if (got == 0) continue;
    if (++contributors == 1) continue;
    // A second source: switch to a wide accumulator seeded with what `out` holds so far.
    const size_t got_samples = got / BytesPerSample(format_.encoding);
    if (format_.encoding == SampleEncoding::kF32LE) {
      if (contributors == 2) {
        std::memcpy(mix_f32_.data(), out.data(), bytes);
      }
      const float* in = reinterpret_cast<const float*>(scratch_.data());
      for (size_t i = 0; i < got_samples; ++i) mix_f32_[i] += in[i];
    } else {
      if (contributors == 2) {
        const int16_t* seed = reinterpret_cast<const int16_t*>(out.data());
        for (size_t i = 0; i < samples; ++i) mix_s32_[i] = seed[i];
      }
      const int16_t* in = reinterpret_cast<const int16_t*>(scratch_.data());
      for (size_t i = 0; i < got_samples; ++i) mix_s32_[i] += in[i];
    }
  }
  if (contributors >= 2) {
    if (format_.encoding == SampleEncoding::kF32LE) {
      std::memcpy(out.data(), mix_f32_.data(), bytes);
    } else {
      int16_t* dst = reinterpret_cast<int16_t*>(out.data());
      for (size_t i = 0; i < samples; ++i) {
        dst[i] = static_cast<int16_t>(std::clamp<int32_t>(mix_s32_[i], -32768, 32767));
      }
    }
  }
  const uint64_t position = frames_.fetch_add(frames, std::memory_order_relaxed);
  chunks_.fetch_add(1, std::memory_order_relaxed);
  if (!sink_->OnChunk(std::move(out), position)) {
    // The timeline still advances (frames_ above): the host sees a jump in the positions.
    dropped_chunks_.fetch_add(1, std::memory_order_relaxed);
    dropped_frames_.fetch_add(frames, std::memory_order_relaxed);
  }
}

}  // namespace audiotap

#include "core/capture_core.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
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
// A source placed further than this from the read point by its timestamps is placed at the
// read point: its clock or the other's is not what it claims.
constexpr double kMaxPlacementSeconds = 1.0;
// Two blocks of one device clock whose ends were stamped this close came from one render of
// the server (renders are a few ms apart or more; one render reaches the callbacks of its
// streams within about 0.1 ms): their ends are the same frame, exactly.
constexpr int64_t kSameRenderNs = 1000000;
// How long a new source waits for blocks of the same render as a placed one of its clock
// before it is placed by its stamps alone (a machine too busy to deliver them together).
constexpr int64_t kPlaceWaitNs = 150000000;
// Matches on this many new blocks in a row that agree place a source: a server that fell behind
// sends two renders at once, and one match may pair blocks of neighbouring renders.
constexpr int kAgreeingMatches = 3;
}  // namespace

CaptureCore::CaptureCore(const CaptureOptions& options, EventSink* sink)
    : format_(options.format),
      bytes_per_frame_(options.format.BytesPerFrame()),
      tracks_(options.tracks),
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
  if (tracks_ < 1 || tracks_ > kMaxTracks) {
    throw EngineError("EFORMAT", "a capture has 1 to " + std::to_string(kMaxTracks) +
                                     " tracks, not " + std::to_string(tracks_));
  }
  if (tracks_ > 1) track_.resize(static_cast<size_t>(chunk_frames_) * bytes_per_frame_);
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

int CaptureCore::AcquireSource(uint32_t channels, uint32_t track, uint64_t clock) {
  if (channels == 0) channels = format_.channels;
  if (track >= tracks_) {
    throw EngineError("EFORMAT", "no track " + std::to_string(track) + " in a capture of " +
                                     std::to_string(tracks_));
  }
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
    slot.track.store(track, std::memory_order_relaxed);
    slot.clock = clock;
    slot.written_frames.store(0, std::memory_order_relaxed);
    slot.time.Reset();
    slot.placed = false;
    slot.timed = false;
    slot.start_position = 0;
    slot.pad_frames = 0;
    slot.skip_frames = 0;
    slot.seen_ns = 0;
    slot.agreeing = 0;
    slot.match_start = 0;
    slot.match_frame = UINT64_MAX;
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

void CaptureCore::Write(int id, const void* frames, size_t frame_count, int64_t capture_ns) {
  Slot& slot = slots_[id];
  const uint64_t stream_frame = slot.written_frames.load(std::memory_order_relaxed);
  if (capture_ns != 0) {
    // Kept as the block's end: two streams' blocks of one render end on the same instant.
    slot.time.Set(stream_frame + frame_count,
                  capture_ns + static_cast<int64_t>(frame_count) * 1000000000 /
                                   static_cast<int64_t>(format_.sample_rate));
  }
  slot.written_frames.store(stream_frame + frame_count, std::memory_order_relaxed);
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
  slot.written_frames.store(slot.written_frames.load(std::memory_order_relaxed) + frame_count,
                            std::memory_order_relaxed);
  const size_t frame_bytes = slot.bytes_per_frame.load(std::memory_order_relaxed);
  const size_t bytes = frame_count * frame_bytes;
  const size_t written = slot.ring.WriteZeros(bytes);
  if (written < bytes) {
    overrun_frames_.fetch_add((bytes - written) / frame_bytes, std::memory_order_relaxed);
  }
  slot.last_write_ns.store(NowNs(), std::memory_order_relaxed);
}

void CaptureCore::Written(int id) {
  if (!DrainWake::kWakesOnWrite || id < 0 || id >= kMaxSources) return;
  const Slot& slot = slots_[id];
  // A whole chunk is the least a pass can emit; less wakes the drain for nothing.
  if (slot.ring.Readable() >=
      size_t{chunk_frames_} * slot.bytes_per_frame.load(std::memory_order_relaxed)) {
    wake_.Wake();
  }
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
  wake_.Wake();
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
  // Where producers wake the drain (Written), it sleeps up to two chunks: the timeout is for
  // what the clock decides (the silence fill, a source gone quiet). Elsewhere it polls four
  // times a chunk: the audio callbacks there make no system call.
  const int64_t sleep_ns =
      DrainWake::kWakesOnWrite ? std::clamp<int64_t>(2 * chunk_ns_, 2000000LL, 100000000LL)
                               : std::clamp<int64_t>(chunk_ns_ / 4, 1000000LL, 10000000LL);
  if (!target_playing_.load(std::memory_order_acquire) &&
      !mark_recording_.load(std::memory_order_acquire)) {
    sink_->OnState(CaptureState::kWaiting);
  }
  for (;;) {
    // Read before the pass: a wake during it makes the sleep below return at once.
    const uint32_t epoch = wake_.Epoch();
    bool ending;
    {
      std::lock_guard<std::mutex> lock(end_mutex_);
      ending = end_requested_;
    }
    passes_.fetch_add(1, std::memory_order_relaxed);
    Pump(ending);
    if (ending) break;
    wake_.Sleep(epoch, sleep_ns);
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
    bool unplaced = false;  // a source's first frames wait to be placed
    bool any_data = false;  // a source holds frames (placed or not)
    bool any_gating = false;
    bool any_live = false;  // an open source that is not paused
    size_t gating_min = SIZE_MAX;
    size_t max_avail = 0;
    for (Slot& slot : slots_) {
      const int state = slot.state.load(std::memory_order_acquire);
      if (state == kFree) continue;
      const size_t in_ring =
          slot.ring.Readable() / slot.bytes_per_frame.load(std::memory_order_relaxed);
      if (state == kReleased && in_ring == 0 && slot.pad_frames == 0) {
        slot.state.store(kFree, std::memory_order_release);
        continue;
      }
      if (!slot.placed && in_ring > 0) unplaced = true;
      if (in_ring > 0) any_data = true;
      // A source waiting to be placed holds the timeline back (its frames are not yet
      // anywhere); once placed, what it owes in silence counts and what it skips does not.
      const size_t avail = !slot.placed && in_ring > 0
                               ? 0
                               : slot.pad_frames + in_ring - std::min(in_ring, slot.skip_frames);
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
      if (!any_data && !mark_recording_.load(std::memory_order_acquire)) return;
      recording_ = true;
      anchor_ns_.store(now, std::memory_order_release);
      sink_->OnState(CaptureState::kRecording);
    }

    // A source's first frames: where they go on the timeline (after a catch-up, below: the
    // read point is where the next chunk starts). The scan is repeated with its pad or skip.
    if (unplaced && (flush || !(any_live && filling_))) {
      bool placed = false;
      for (Slot& slot : slots_) {
        if (slot.state.load(std::memory_order_acquire) == kFree || slot.placed) continue;
        // At the end nothing is waited for: placed by what is known now.
        if (slot.ring.Readable() > 0 && Place(slot, now, flush)) {
          placed = true;
        }
      }
      if (placed) continue;
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
      if (unplaced) continue;  // placed at the read point the catch-up has moved
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

uint64_t CaptureCore::CapturedPosition() const {
  const uint64_t produced = frames_.load(std::memory_order_relaxed);
  uint64_t pending = 0;
  for (const Slot& slot : slots_) {
    if (slot.state.load(std::memory_order_acquire) == kFree) continue;
    const uint32_t bytes_per_frame = slot.bytes_per_frame.load(std::memory_order_relaxed);
    if (bytes_per_frame == 0) continue;
    // Readable from a thread other than the consumer: two atomics, possibly a moment old.
    pending = std::max<uint64_t>(pending, slot.ring.Readable() / bytes_per_frame);
  }
  return std::max(ClockPosition(), produced + pending);
}

bool CaptureCore::ReadTime(const Slot& slot, SlotTime* time) {
  return slot.time.Read(&time->frame, &time->ns);
}

bool CaptureCore::Place(Slot& slot, int64_t now, bool now_or_never) {
  // The read point: the next chunk's first frame, where the ring's head goes unless timed.
  const int64_t here = static_cast<int64_t>(frames_.load(std::memory_order_relaxed));
  SlotTime own;
  if (!ReadTime(slot, &own)) {
    slot.placed = true;
    slot.start_position = here;
    return true;
  }
  if (slot.seen_ns == 0) slot.seen_ns = now;
  // The reference: a live timed source on the timeline, of the same device clock if there is one
  // (then its latest block ended nearest in time to this one's), else any. Its frame `frame`
  // sits at start_position + frame.
  const Slot* ref = nullptr;
  SlotTime ref_time{0, 0};
  bool same_clock = false;
  for (const Slot& other : slots_) {
    // Only a source delivering now: one that went quiet (an app's old stream, after a restart)
    // maps stamps to positions of a stretch the clock has since filled.
    if (&other == &slot || other.state.load(std::memory_order_acquire) != kActive ||
        !other.placed || !other.timed || other.paused.load(std::memory_order_relaxed) ||
        now - other.last_write_ns.load(std::memory_order_relaxed) > hold_ns_) {
      continue;
    }
    SlotTime time;
    if (!ReadTime(other, &time)) continue;
    const bool same = slot.clock != 0 && other.clock == slot.clock;
    if (ref == nullptr || (same && !same_clock) ||
        (same == same_clock && std::llabs(time.ns - own.ns) < std::llabs(ref_time.ns - own.ns))) {
      ref = &other;
      ref_time = time;
      same_clock = same;
    }
  }
  const bool one_render = same_clock && std::llabs(ref_time.ns - own.ns) <= kSameRenderNs;
  if (one_render && own.frame != slot.match_frame) {
    // A match on a new block: the blocks' ends are the same frame, which puts frame 0 here.
    const int64_t start = ref->start_position + static_cast<int64_t>(ref_time.frame) -
                          static_cast<int64_t>(own.frame);
    slot.agreeing = slot.agreeing > 0 && start == slot.match_start ? slot.agreeing + 1 : 1;
    slot.match_start = start;
    slot.match_frame = own.frame;
  }
  if (same_clock && slot.agreeing < kAgreeingMatches && !now_or_never &&
      now - slot.seen_ns < kPlaceWaitNs) {
    return false;  // not sure yet: the next pass (the timeline waits)
  }
  slot.placed = true;
  slot.timed = true;
  slot.start_position = here;
  if (ref == nullptr) return true;
  // Matched blocks say where, to the frame (the latest match, if time ran out); otherwise the
  // stamps say how far apart.
  const double at = slot.agreeing > 0
                        ? static_cast<double>(slot.match_start)
                        : static_cast<double>(ref->start_position) +
                              static_cast<double>(ref_time.frame) +
                              static_cast<double>(own.ns - ref_time.ns) * format_.sample_rate / 1e9 -
                              static_cast<double>(own.frame);
  const double delta = at - static_cast<double>(here);
  if (!(std::fabs(delta) < kMaxPlacementSeconds * format_.sample_rate)) return true;
  const int64_t frames = std::llround(delta);
  slot.start_position = here + frames;
  if (frames > 0) {
    slot.pad_frames = static_cast<size_t>(frames);
  } else if (frames < 0) {
    // Frames captured before the read point: their place has been emitted. Lost, and counted.
    slot.skip_frames = static_cast<size_t>(-frames);
    overrun_frames_.fetch_add(slot.skip_frames, std::memory_order_relaxed);
  }
  return true;
}

size_t CaptureCore::ReadSlot(Slot& slot, uint8_t* into, size_t frames) {
  const size_t frame_bytes = slot.bytes_per_frame.load(std::memory_order_relaxed);
  if (slot.skip_frames > 0) {
    slot.skip_frames -= slot.ring.Discard(slot.skip_frames * frame_bytes) / frame_bytes;
    if (slot.skip_frames > 0) return 0;  // still too early for its place
  }
  const size_t pad = std::min(slot.pad_frames, frames);
  if (pad > 0) {
    std::memset(into, 0, pad * bytes_per_frame_);
    slot.pad_frames -= pad;
    into += pad * bytes_per_frame_;
    frames -= pad;
  }
  const uint32_t channels = slot.channels.load(std::memory_order_relaxed);
  if (channels == format_.channels) {
    return pad + slot.ring.Read(into, frames * bytes_per_frame_) / bytes_per_frame_;
  }
  const size_t got = slot.ring.Read(convert_.data(), frames * frame_bytes) / frame_bytes;
  ConvertChannels(format_.encoding, convert_.data(), channels, into, format_.channels, got);
  return pad + got;
}

int CaptureCore::MixTrack(uint32_t track, uint8_t* into, size_t frames) {
  const size_t bytes = frames * bytes_per_frame_;
  const size_t samples = frames * format_.channels;
  int contributors = 0;
  for (Slot& slot : slots_) {
    // An unplaced source's first frames came after this pass's scan: placed on the next.
    if (slot.state.load(std::memory_order_acquire) == kFree || !slot.placed ||
        slot.track.load(std::memory_order_relaxed) != track) {
      continue;
    }
    // The first source reads straight into the track (the usual case: one stream).
    uint8_t* dest = contributors == 0 ? into : scratch_.data();
    const size_t got = ReadSlot(slot, dest, frames) * bytes_per_frame_;
    if (got == 0) continue;
    if (++contributors == 1) continue;
    // A second source: switch to a wide accumulator seeded with what `into` holds so far.
    const size_t got_samples = got / BytesPerSample(format_.encoding);
    if (format_.encoding == SampleEncoding::kF32LE) {
      if (contributors == 2) {
        std::memcpy(mix_f32_.data(), into, bytes);
      }
      const float* in = reinterpret_cast<const float*>(scratch_.data());
      for (size_t i = 0; i < got_samples; ++i) mix_f32_[i] += in[i];
    } else {
      if (contributors == 2) {
        const int16_t* seed = reinterpret_cast<const int16_t*>(into);
        for (size_t i = 0; i < samples; ++i) mix_s32_[i] = seed[i];
      }
      const int16_t* in = reinterpret_cast<const int16_t*>(scratch_.data());
      for (size_t i = 0; i < got_samples; ++i) mix_s32_[i] += in[i];
    }
  }
  if (contributors >= 2) {
    if (format_.encoding == SampleEncoding::kF32LE) {
      std::memcpy(into, mix_f32_.data(), bytes);
    } else {
      int16_t* dst = reinterpret_cast<int16_t*>(into);
      for (size_t i = 0; i < samples; ++i) {
        dst[i] = static_cast<int16_t>(std::clamp<int32_t>(mix_s32_[i], -32768, 32767));
      }
    }
  }
  return contributors;
}

void CaptureCore::EmitMix(size_t frames, bool silence) {
  // scratch_, track_ and mix_*_ hold one chunk of one track. Past it, a second source's frames
  // would be written beyond them; clamping instead leaves the rest in the rings.
  assert(frames <= chunk_frames_);
  frames = std::min(frames, size_t{chunk_frames_});
  std::vector<uint8_t> out(frames * chunk_frame_bytes(), 0);
  if (!silence && tracks_ == 1) {
    MixTrack(0, out.data(), frames);
  } else if (!silence) {
    // Each track mixed on its own, then laid into its place in every frame.
    for (uint32_t track = 0; track < tracks_; ++track) {
      std::memset(track_.data(), 0, frames * bytes_per_frame_);
      if (MixTrack(track, track_.data(), frames) == 0) continue;
      const uint8_t* from = track_.data();
      uint8_t* to = out.data() + track * bytes_per_frame_;
      for (size_t i = 0; i < frames; ++i) {
        std::memcpy(to, from, bytes_per_frame_);
        from += bytes_per_frame_;
        to += chunk_frame_bytes();
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

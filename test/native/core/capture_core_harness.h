// Shared by the capture core's unit tests (test/native/capture_core*_test.cc): the test clock,
// the peer that reaches CaptureCore's privates, a fake host (EventSink) with a bounded queue,
// per-source test signals, and the expected mix. Test builds only: the core is compiled with
// AUDIOTAP_TEST_CLOCK, which makes CaptureCore::NowNs call TestClockNs (capture_core_test.cc).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/capture_core.h"
#include "check.h"

namespace audiotap {

// 0: the real steady clock (the Threaded* tests); otherwise the fake time in ns.
extern std::atomic<int64_t> g_fake_now_ns;
int64_t TestClockNs();

struct CaptureCoreTestPeer {
  static void Pump(CaptureCore& core, bool flush) { core.Pump(flush); }
  static void EmitMix(CaptureCore& core, size_t frames) { core.EmitMix(frames); }
  // What Pump does before a source's first frames are mixed (EmitMix mixes placed ones only).
  static void PlaceSources(CaptureCore& core) {
    for (auto& slot : core.slots_) {
      if (slot.state.load() != CaptureCore::kFree && !slot.placed) core.Place(slot, TestClockNs());
    }
  }
  static int64_t HoldNs(const CaptureCore& core) { return core.hold_ns_; }
  static uint64_t Passes(const CaptureCore& core) { return core.passes_.load(); }
  static size_t RingFrames(const CaptureCore& core, int id) {
    return core.slots_[id].ring.Capacity() / core.bytes_per_frame_;
  }
  static size_t MixBufferFrames(const CaptureCore& core) {
    return core.scratch_.size() / core.bytes_per_frame_;
  }
};

}  // namespace audiotap

namespace cctest {

using namespace audiotap;
using Peer = CaptureCoreTestPeer;

constexpr uint32_t kRate = 48000;
constexpr uint32_t kChunk = 960;  // 20 ms at 48 kHz, the default
constexpr int64_t kMs = 1000000;

// The fake clock for one test: starts at 1000 s, moved by hand, back to the real one after.
struct FakeClock {
  FakeClock() { g_fake_now_ns.store(1000000 * kMs); }
  ~FakeClock() { g_fake_now_ns.store(0); }
  void Advance(int64_t ns) { g_fake_now_ns.fetch_add(ns); }
};

// A host: records every event; a bounded queue like addon.cc's refuses chunks while it holds
// `capacity` of them, until the test "delivers" them with Consume().
class FakeSink : public EventSink {
 public:
  struct Chunk {
    std::vector<uint8_t> pcm;
    uint64_t position;
  };

  explicit FakeSink(size_t capacity = SIZE_MAX) : capacity_(capacity) {}

  // Called with each offered chunk's position, on the thread that runs Pump (single-threaded
  // tests only: e.g. a producer that keeps writing while the stop flushes).
  std::function<void(uint64_t)> on_chunk;

  void OnState(CaptureState state) override {
    std::lock_guard<std::mutex> lock(mutex_);
    after_end_ = after_end_ || ends_ > 0;
    states_.push_back(state);
  }
  bool OnChunk(std::vector<uint8_t>&& pcm, uint64_t position) override {
    if (on_chunk) on_chunk(position);  // before the lock: it may call into the core
    std::lock_guard<std::mutex> lock(mutex_);
    after_end_ = after_end_ || ends_ > 0;
    offered_.push_back(position);
    if (queued_.size() >= capacity_) return false;
    queued_.push_back({std::move(pcm), position});
    return true;
  }
  void OnWarning(const std::string&, const std::string&) override {}
  void OnServer(bool back, uint64_t position) override {
    std::lock_guard<std::mutex> lock(mutex_);
    servers_.push_back({back, position});
  }
  void OnEnd(EndReason reason, const std::string& code, const std::string& message,
             const CaptureStats& stats) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++ends_;
    reason_ = reason;
    code_ = code;
    message_ = message;
    end_stats_ = stats;
  }

  // The host takes what is queued (addon.cc: DeliverEvents on the JS thread).
  void Consume() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Chunk& chunk : queued_) delivered_.push_back(std::move(chunk));
    queued_.clear();
  }
  // Everything accepted so far, in order.
  std::vector<Chunk> Chunks() {
    Consume();
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Chunk> copy;
    for (const Chunk& chunk : delivered_) copy.push_back(chunk);
    return copy;
  }
  std::vector<uint64_t> Offered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return offered_;
  }
  // OnServer's (back, position), in order.
  std::vector<std::pair<bool, uint64_t>> Servers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return servers_;
  }
  std::vector<CaptureState> States() {
    std::lock_guard<std::mutex> lock(mutex_);
    return states_;
  }
  int ends() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ends_;
  }
  bool after_end() {
    std::lock_guard<std::mutex> lock(mutex_);
    return after_end_;
  }
  EndReason reason() const { return reason_; }
  const std::string& message() const { return message_; }
  const CaptureStats& end_stats() const { return end_stats_; }

 private:
  std::mutex mutex_;
  size_t capacity_;
  std::vector<Chunk> queued_;
  std::vector<Chunk> delivered_;
  std::vector<uint64_t> offered_;
  std::vector<CaptureState> states_;
  std::vector<std::pair<bool, uint64_t>> servers_;
  int ends_ = 0;
  bool after_end_ = false;  // an event came after OnEnd
  EndReason reason_ = EndReason::kStopped;
  std::string code_;
  std::string message_;
  CaptureStats end_stats_;
};

inline CaptureOptions Options(SampleEncoding encoding, uint32_t channels = 2,
                       uint32_t chunk_frames = kChunk) {
  CaptureOptions options;
  options.format.sample_rate = kRate;
  options.format.channels = channels;
  options.format.encoding = encoding;
  options.chunk_frames = chunk_frames;
  return options;
}

// One source's whole signal, interleaved, as it will be written. T is int16_t or float.
template <typename T>
struct Signal {
  std::vector<T> samples;
  uint32_t channels;
  size_t written = 0;  // frames handed to the core so far
  size_t frames() const { return samples.size() / channels; }
};

// Source `s`'s sample: a ramp per channel that differs per source, so a frame mixed at the
// wrong offset or from the wrong source changes the sum. s16 values stay within ±4000 unless
// `loud` (then sums of two clip); f32 values are multiples of 1/1024, so sums are exact.
inline Signal<int16_t> RampS16(int s, size_t frames, uint32_t channels, bool loud = false) {
  Signal<int16_t> sig{{}, channels};
  for (size_t i = 0; i < frames; ++i) {
    for (uint32_t c = 0; c < channels; ++c) {
      int v = static_cast<int>((i * (s + 1) * 37 + c * 1000 + s * 211) % 8001) - 4000;
      if (loud) v = v >= 0 ? 24000 + v : -24000 + v;
      sig.samples.push_back(static_cast<int16_t>(v));
    }
  }
  return sig;
}

inline Signal<float> RampF32(int s, size_t frames, uint32_t channels) {
  Signal<float> sig{{}, channels};
  for (size_t i = 0; i < frames; ++i) {
    for (uint32_t c = 0; c < channels; ++c) {
      const int v = static_cast<int>((i * (s + 3) * 29 + c * 500 + s * 97) % 2049) - 1024;
      sig.samples.push_back(static_cast<float>(v) / 1024.0f * 0.75f);  // ±0.75: sums exceed 1
    }
  }
  return sig;
}

template <typename T>
void WriteSome(CaptureCore& core, int id, Signal<T>& sig, size_t frames) {
  frames = std::min(frames, sig.frames() - sig.written);
  core.Write(id, sig.samples.data() + sig.written * sig.channels, frames);
  sig.written += frames;
}

// The expected timeline: each source's signal placed at its start position, summed, and for
// s16 clamped as the core does.
template <typename T>
std::vector<T> ExpectedMix(const std::vector<const Signal<T>*>& sources,
                           const std::vector<uint64_t>& starts, size_t total_frames,
                           uint32_t channels) {
  std::vector<double> sum(total_frames * channels, 0.0);
  for (size_t k = 0; k < sources.size(); ++k) {
    const Signal<T>& sig = *sources[k];
    for (size_t i = 0; i < sig.samples.size(); ++i) {
      const size_t at = starts[k] * channels + i;
      if (at < sum.size()) sum[at] += sig.samples[i];
    }
  }
  std::vector<T> out(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) {
    if (std::is_same<T, int16_t>::value) {
      out[i] = static_cast<T>(std::clamp(sum[i], -32768.0, 32767.0));
    } else {
      out[i] = static_cast<T>(sum[i]);
    }
  }
  return out;
}

// The chunks as one timeline: checks positions are contiguous from 0 and every chunk but the
// last is whole (the flush's short chunk is last); returns the samples.
template <typename T>
std::vector<T> Timeline(const std::vector<FakeSink::Chunk>& chunks, uint32_t channels,
                        const char* what) {
  std::vector<T> out;
  bool contiguous = true;
  bool whole = true;
  for (size_t k = 0; k < chunks.size(); ++k) {
    const size_t frames = chunks[k].pcm.size() / (sizeof(T) * channels);
    contiguous = contiguous && chunks[k].position == out.size() / channels;
    whole = whole && chunks[k].pcm.size() % (sizeof(T) * channels) == 0 && frames >= 1 &&
            frames <= kChunk && (frames == kChunk || k + 1 == chunks.size());
    const size_t at = out.size();
    out.resize(at + frames * channels);
    std::memcpy(out.data() + at, chunks[k].pcm.data(), frames * channels * sizeof(T));
  }
  if (!check::Record(contiguous)) std::fprintf(stderr, "%s: positions not contiguous\n", what);
  if (!check::Record(whole)) std::fprintf(stderr, "%s: a chunk not whole before the last\n", what);
  return out;
}

// Each topic file's tests, run by main() in capture_core_test.cc.
std::vector<check::Test> MixTests();
std::vector<check::Test> TimelineTests();
std::vector<check::Test> ChannelTests();
std::vector<check::Test> ThreadTests();
std::vector<check::Test> TrackTests();
std::vector<check::Test> TrackSetTests();

}  // namespace cctest

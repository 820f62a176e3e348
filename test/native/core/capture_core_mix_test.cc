// Capture core unit tests: mixing 1-4 sources with skewed and bursty arrival, clamping,
// sources joining and leaving mid-capture, a quiet source's hold time, paused sources.
// Deterministic: Pump runs on the test's thread against a clock advanced by hand.
#include <thread>

#include "capture_core_harness.h"

namespace cctest {
namespace {

// ---- Mixing -----------------------------------------------------------------------------

void TestOneSourcePassesThrough() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  const int id = core.AcquireSource();
  EXPECT_EQ(id, 0);
  Signal<int16_t> sig = RampS16(0, 10 * kChunk + 480, 2);
  Peer::Pump(core, false);
  EXPECT(sink.States().empty());  // the timeline starts with the first frame
  // Bursts that straddle chunk boundaries.
  const size_t bursts[] = {100, 2000, 1, 959, 3000, 441};
  size_t emitted = 0;
  for (size_t burst : bursts) {
    WriteSome(core, id, sig, burst);
    Peer::Pump(core, false);
    emitted = sink.Chunks().size();
    EXPECT_EQ(emitted, sig.written / kChunk);  // whole chunks as soon as they are there
  }
  WriteSome(core, id, sig, SIZE_MAX);
  Peer::Pump(core, true);
  const std::vector<FakeSink::Chunk> chunks = sink.Chunks();
  EXPECT_EQ(chunks.size(), 11u);
  EXPECT_EQ(chunks.back().pcm.size(), 480u * 4);
  EXPECT_EQ(chunks.back().position, 10u * kChunk);
  EXPECT_SAMPLES(Timeline<int16_t>(chunks, 2, "one source"), sig.samples, "one source");
  EXPECT(sink.States() == std::vector<CaptureState>{CaptureState::kRecording});
  const CaptureStats stats = core.Stats();
  EXPECT_EQ(stats.frames, 10u * kChunk + 480);
  EXPECT_EQ(stats.chunks, 11u);
  EXPECT_EQ(stats.dropped_chunks, 0u);
  EXPECT_EQ(stats.dropped_frames, 0u);
  EXPECT_EQ(stats.overrun_frames, 0u);
  EXPECT_EQ(stats.sources, 1u);
}

// 1 to 4 live sources, each arriving in its own burst sizes (one runs seconds ahead, one
// trickles): the mix waits for the slowest, and every output sample is the exact sum.
template <typename T>
void MixSkewed(SampleEncoding encoding, uint32_t channels, bool loud) {
  for (int n = 1; n <= 4; ++n) {
    FakeClock clock;
    FakeSink sink;
    CaptureCore core(Options(encoding, channels), &sink);
    std::vector<Signal<T>> sigs;
    std::vector<int> ids;
    const size_t total = 25 * kChunk + 333;
    for (int s = 0; s < n; ++s) {
      if constexpr (std::is_same<T, int16_t>::value) {
        sigs.push_back(RampS16(s, total, channels, loud));
      } else {
        sigs.push_back(RampF32(s, total, channels));
      }
      ids.push_back(core.AcquireSource());
    }
    // Source 0 delivers everything at once (PulseAudio renders ahead in blocks), the others
    // in odd burst sizes of their own, the last a trickle of about 2 ms per wake-up.
    const size_t bursts[] = {total, 512, 1777, 96};
    bool waited = true;  // never a chunk the slowest source has not filled
    bool done = false;
    for (int round = 0; !done; ++round) {
      done = true;
      for (int s = 0; s < n; ++s) {
        WriteSome(core, ids[s], sigs[s], bursts[s] + round % 7);
        done = done && sigs[s].written == total;
      }
      clock.Advance(2 * kMs);  // in step with the trickle: the hold never runs out
      Peer::Pump(core, false);
      size_t slowest = SIZE_MAX;
      for (const Signal<T>& sig : sigs) slowest = std::min(slowest, sig.written);
      waited = waited && core.Stats().frames == slowest / kChunk * kChunk;
    }
    EXPECT(waited);
    Peer::Pump(core, true);
    std::vector<const Signal<T>*> all;
    for (const Signal<T>& sig : sigs) all.push_back(&sig);
    const std::vector<T> want = ExpectedMix(all, std::vector<uint64_t>(n, 0), total, channels);
    EXPECT_SAMPLES(Timeline<T>(sink.Chunks(), channels, "skewed mix"), want, "skewed mix");
    EXPECT_EQ(core.Stats().frames, total);
  }
}

void TestMixS16Skewed() { MixSkewed<int16_t>(SampleEncoding::kS16LE, 2, false); }
void TestMixS16Clips() { MixSkewed<int16_t>(SampleEncoding::kS16LE, 1, true); }
void TestMixF32Skewed() { MixSkewed<float>(SampleEncoding::kF32LE, 2, false); }

// Full-scale sums clamp to the s16 range, both ways; f32 sums are not clamped.
void TestClampAtFullScale() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE, 1), &sink);
  const int16_t a[] = {30000, -30000, 32767, -32768, 20000, -5};
  const int16_t b[] = {10000, -10000, 32767, -32768, -20000, 5};
  const int16_t c[] = {0, 0, -32768, 32767, 12345, 0};
  const int ids[] = {core.AcquireSource(), core.AcquireSource(), core.AcquireSource()};
  core.Write(ids[0], a, 6);
  core.Write(ids[1], b, 6);
  core.Write(ids[2], c, 6);
  Peer::Pump(core, true);
  const std::vector<int16_t> want = {32767, -32768, 32766, -32768, 12345, 0};
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 1, "clamp"), want, "clamp");

  FakeSink sink_f32;
  CaptureCore f32(Options(SampleEncoding::kF32LE, 1), &sink_f32);
  const float x[] = {0.75f, -1.0f};
  const float y[] = {0.5f, -0.5f};
  const int fx = f32.AcquireSource();
  const int fy = f32.AcquireSource();
  f32.Write(fx, x, 2);
  f32.Write(fy, y, 2);
  Peer::Pump(f32, true);
  EXPECT_SAMPLES(Timeline<float>(sink_f32.Chunks(), 1, "f32 headroom"),
                 (std::vector<float>{1.25f, -1.5f}), "f32 headroom");
}

// ---- Sources joining and leaving --------------------------------------------------------

// A source that joins mid-capture holds the mix back until it delivers, and its first frame
// lands on the next chunk's position, not at 0.
void TestSourceJoins() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  Signal<int16_t> a = RampS16(0, 20 * kChunk, 2);
  Signal<int16_t> b = RampS16(1, 8 * kChunk + 100, 2);
  const int ia = core.AcquireSource();
  WriteSome(core, ia, a, 5 * kChunk + 300);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 5u * kChunk);
  const int ib = core.AcquireSource();
  EXPECT_EQ(core.Stats().sources, 2u);
  const uint64_t join_position = core.Stats().frames;
  WriteSome(core, ia, a, 6 * kChunk);  // a is ahead; b has nothing yet
  clock.Advance(50 * kMs);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 5u * kChunk);  // held for b
  for (int i = 0; i < 9; ++i) {
    WriteSome(core, ib, b, kChunk);
    WriteSome(core, ia, a, kChunk);
    clock.Advance(20 * kMs);
    Peer::Pump(core, false);
  }
  Peer::Pump(core, true);
  const std::vector<int16_t> want =
      ExpectedMix<int16_t>({&a, &b}, {0, join_position}, a.written, 2);
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "join"), want, "join");
}

// A released source's frames are still mixed; then it holds nothing back, and its slot is
// reused only once drained.
void TestSourceLeaves() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  Signal<int16_t> a = RampS16(0, 12 * kChunk, 2);
  Signal<int16_t> b = RampS16(1, 2 * kChunk + 500, 2);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  WriteSome(core, ia, a, kChunk);
  WriteSome(core, ib, b, SIZE_MAX);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 1u * kChunk);
  core.ReleaseSource(ib);
  EXPECT_EQ(core.Stats().sources, 1u);
  core.ReleaseSource(ib);  // twice: no effect
  EXPECT_EQ(core.Stats().sources, 1u);
  const int ic = core.AcquireSource();
  EXPECT(ic != ib);  // b still holds frames: its slot is not free yet
  core.ReleaseSource(ic);
  WriteSome(core, ia, a, SIZE_MAX);
  Peer::Pump(core, false);  // a alone drives the mix now; b's rest goes into it
  EXPECT_EQ(core.Stats().frames, 12u * kChunk);
  const std::vector<int16_t> want = ExpectedMix<int16_t>({&a, &b}, {0, 0}, a.written, 2);
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "leave"), want, "leave");
  EXPECT_EQ(core.AcquireSource(), ib);  // drained: free again
}

// A live source that stops writing holds the mix back for the hold time, then no longer.
void TestQuietSourceHoldsThenNot() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  const int64_t hold = Peer::HoldNs(core);
  EXPECT_EQ(hold, 500 * kMs);
  Signal<int16_t> a = RampS16(0, 10 * kChunk, 2);
  Signal<int16_t> b = RampS16(1, kChunk, 2);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  WriteSome(core, ib, b, kChunk);
  WriteSome(core, ia, a, kChunk);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 1u * kChunk);
  clock.Advance(hold / 2);
  WriteSome(core, ia, a, 4 * kChunk);  // a keeps delivering, b has gone quiet
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 1u * kChunk);
  clock.Advance(hold / 2);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 1u * kChunk);  // b not yet quiet for longer than the hold
  clock.Advance(1 * kMs);
  WriteSome(core, ia, a, SIZE_MAX);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 10u * kChunk);  // b is quiet: a's backlog goes out
  // b is still open and not paused: no silence is filled in for it, however long.
  clock.Advance(10000 * kMs);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 10u * kChunk);
  const std::vector<int16_t> want = ExpectedMix<int16_t>({&a, &b}, {0, 0}, a.written, 2);
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "hold"), want, "hold");
}

// A paused source neither holds the mix back nor stops the silence fill.
void TestPausedSource() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  Signal<int16_t> a = RampS16(0, 5 * kChunk, 2);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  core.SetSourcePaused(ib, true);
  WriteSome(core, ia, a, SIZE_MAX);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 5u * kChunk);  // b, paused and empty, held nothing back
  core.SetSourcePaused(ib, false);
  core.Write(ia, a.samples.data(), kChunk);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 5u * kChunk);  // b live again: waited for
  // Every open source paused: the timeline follows the clock with silence (after a's rest).
  core.SetSourcePaused(ia, true);
  core.SetSourcePaused(ib, true);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 6u * kChunk);  // a's chunk: a whole chunk is always due
  clock.Advance(Peer::HoldNs(core) + 1000 * kMs);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 50u * kChunk);  // 1 s past the hold: 48000 frames
}

}  // namespace

std::vector<check::Test> MixTests() {
  return {
      {"OneSourcePassesThrough", TestOneSourcePassesThrough},
      {"MixS16Skewed", TestMixS16Skewed},
      {"MixS16Clips", TestMixS16Clips},
      {"MixF32Skewed", TestMixF32Skewed},
      {"ClampAtFullScale", TestClampAtFullScale},
      {"SourceJoins", TestSourceJoins},
      {"SourceLeaves", TestSourceLeaves},
      {"QuietSourceHoldsThenNot", TestQuietSourceHoldsThenNot},
      {"PausedSource", TestPausedSource},
  };
}

}  // namespace cctest

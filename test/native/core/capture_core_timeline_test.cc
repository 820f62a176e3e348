// Capture core unit tests: the silence fill, the host's bounded queue and drop counting,
// ring overruns, the stop flush (one source seconds ahead of the others) and the one-chunk
// bound of EmitMix. Deterministic: Pump runs on the test's thread against a hand-moved clock.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "capture_core_harness.h"

namespace cctest {
namespace {

// ---- Timeline ---------------------------------------------------------------------------

// With no source at all (the system mix with nothing playing), the timeline starts at
// MarkRecording and follows the clock, one hold time behind, in whole chunks of silence.
void TestSilenceFollowsClock() {
  FakeClock clock;
  {
    FakeSink sink;
    CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
    clock.Advance(5000 * kMs);
    Peer::Pump(core, false);
    EXPECT(sink.States().empty());  // not marked: waits for a first frame
    EXPECT_EQ(core.Stats().frames, 0u);
  }
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  const int64_t hold = Peer::HoldNs(core);
  core.MarkRecording();
  Peer::Pump(core, false);
  const int64_t anchor = g_fake_now_ns.load();
  EXPECT(sink.States() == std::vector<CaptureState>{CaptureState::kRecording});
  clock.Advance(hold);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 0u);
  bool follows = true;
  for (int step = 0; step < 300; ++step) {
    clock.Advance((step % 5 + 1) * 7 * kMs);  // uneven drain wake-ups
    Peer::Pump(core, false);
    const int64_t elapsed = g_fake_now_ns.load() - anchor - hold;
    const uint64_t due = static_cast<uint64_t>(elapsed) * kRate / 1000000000;
    follows = follows && core.Stats().frames == due / kChunk * kChunk;
  }
  EXPECT(follows);
  EXPECT(core.Stats().frames > 100u * kChunk);
  const std::vector<int16_t> samples = Timeline<int16_t>(sink.Chunks(), 2, "silence");
  EXPECT(std::all_of(samples.begin(), samples.end(), [](int16_t v) { return v == 0; }));
  // A source that then starts: the timeline first catches up with the wall clock (the hold
  // time the fill trailed by, in whole chunks of silence), then follows the source's data.
  Signal<int16_t> a = RampS16(0, 3 * kChunk, 2);
  const uint64_t start = core.Stats().frames;
  const int ia = core.AcquireSource();
  WriteSome(core, ia, a, SIZE_MAX);
  clock.Advance(1 * kMs);
  Peer::Pump(core, false);
  const uint64_t wall = static_cast<uint64_t>(g_fake_now_ns.load() - anchor) * kRate / 1000000000;
  const uint64_t caught_up = wall / kChunk * kChunk;
  EXPECT(caught_up >= start + hold * kRate / 1000000000 - kChunk);  // about a hold time more
  EXPECT_EQ(core.Stats().frames, caught_up + 3 * kChunk);
  const std::vector<FakeSink::Chunk> chunks = sink.Chunks();
  std::vector<int16_t> gap;
  std::vector<int16_t> tail;
  for (const FakeSink::Chunk& chunk : chunks) {
    if (chunk.position < start) continue;
    const int16_t* p = reinterpret_cast<const int16_t*>(chunk.pcm.data());
    std::vector<int16_t>& into = chunk.position < caught_up ? gap : tail;
    into.insert(into.end(), p, p + chunk.pcm.size() / 2);
  }
  EXPECT_EQ(gap.size(), static_cast<size_t>(caught_up - start) * 2);
  EXPECT(std::all_of(gap.begin(), gap.end(), [](int16_t v) { return v == 0; }));
  EXPECT_SAMPLES(tail, a.samples, "source after silence");
}

// ---- Host queue full: drops -------------------------------------------------------------

void TestDropCounting() {
  FakeClock clock;
  FakeSink sink(3);  // the host queue holds 3 chunks
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  Signal<int16_t> a = RampS16(0, 11 * kChunk + 480, 2);
  const int ia = core.AcquireSource();
  WriteSome(core, ia, a, 8 * kChunk);
  Peer::Pump(core, false);
  CaptureStats stats = core.Stats();
  EXPECT_EQ(stats.chunks, 8u);
  EXPECT_EQ(stats.dropped_chunks, 5u);
  EXPECT_EQ(stats.dropped_frames, 5u * kChunk);
  EXPECT_EQ(stats.frames, 8u * kChunk);  // the timeline counts dropped chunks too
  sink.Consume();
  WriteSome(core, ia, a, SIZE_MAX);
  Peer::Pump(core, false);  // chunks 8 to 10 fit
  Peer::Pump(core, true);   // the short last one does not
  stats = core.Stats();
  EXPECT_EQ(stats.chunks, 12u);
  EXPECT_EQ(stats.dropped_chunks, 6u);
  EXPECT_EQ(stats.dropped_frames, 5u * kChunk + 480);
  EXPECT_EQ(stats.frames, 11u * kChunk + 480);
  // The host sees positions jump over what it dropped; what it got is exactly a's frames.
  const std::vector<FakeSink::Chunk> chunks = sink.Chunks();
  std::vector<uint64_t> positions;
  bool exact = true;
  for (const FakeSink::Chunk& chunk : chunks) {
    positions.push_back(chunk.position);
    exact = exact && std::memcmp(chunk.pcm.data(), a.samples.data() + chunk.position * 2,
                                 chunk.pcm.size()) == 0;
  }
  EXPECT((positions ==
          std::vector<uint64_t>{0, kChunk, 2 * kChunk, 8 * kChunk, 9 * kChunk, 10 * kChunk}));
  EXPECT(exact);
  EXPECT_EQ(sink.Offered().size(), 12u);
  EXPECT_EQ(sink.Offered().back(), 11u * kChunk);
}

// ---- Overruns ---------------------------------------------------------------------------

void TestRingOverrunCounted() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  const int ia = core.AcquireSource();
  const size_t ring = Peer::RingFrames(core, ia);
  EXPECT(ring >= 4u * kRate);  // 4 s, rounded up to a power of two bytes
  Signal<int16_t> a = RampS16(0, ring + 1000, 2);
  WriteSome(core, ia, a, SIZE_MAX);  // the drain "stalled": nothing read
  EXPECT_EQ(core.Stats().overrun_frames, 1000u);
  core.WriteSilence(ia, 300);
  EXPECT_EQ(core.Stats().overrun_frames, 1300u);
  Peer::Pump(core, true);
  a.samples.resize(ring * 2);  // what fitted: the oldest frames are kept
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "overrun"), a.samples, "overrun");
}

void TestWriteSilence() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kF32LE, 1), &sink);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  Signal<float> a = RampF32(0, 3 * kChunk, 1);
  WriteSome(core, ia, a, SIZE_MAX);
  core.WriteSilence(ib, 3 * kChunk);  // a source with a gap it knows about, as silence
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 3u * kChunk);
  EXPECT_SAMPLES(Timeline<float>(sink.Chunks(), 1, "silence source"), a.samples,
                 "silence source");
}

// ---- Stop: the flush --------------------------------------------------------------------

// Stop while one source is seconds ahead of another: everything the rings hold comes out,
// in chunks of at most chunk_frames (the old flush mixed it in one EmitMix past the one-chunk
// mix buffers: an ASan heap-buffer-overflow). Both slot orders: the one ahead reading into
// the chunk itself, or into the scratch buffer.
template <typename T>
void FlushAhead(SampleEncoding encoding, int ahead_index, int n) {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(encoding), &sink);
  std::vector<Signal<T>> sigs;
  std::vector<int> ids;
  const size_t ahead = static_cast<size_t>(3.5 * kRate) + 123;  // 3.5 s: near the ring's 4 s
  for (int s = 0; s < n; ++s) {
    const bool is_ahead = s == ahead_index;
    const size_t frames = is_ahead ? ahead : kChunk * (s + 2) + 17 * s + 5;
    if constexpr (std::is_same<T, int16_t>::value) {
      sigs.push_back(RampS16(s, frames, 2));
    } else {
      sigs.push_back(RampF32(s, frames, 2));
    }
    ids.push_back(core.AcquireSource());
    WriteSome(core, ids[s], sigs[s], SIZE_MAX);
  }
  Peer::Pump(core, false);
  Peer::Pump(core, true);
  std::vector<const Signal<T>*> all;
  size_t longest = 0;
  for (const Signal<T>& sig : sigs) {
    all.push_back(&sig);
    longest = std::max(longest, sig.frames());
  }
  const std::vector<T> want = ExpectedMix(all, std::vector<uint64_t>(n, 0), longest, 2);
  EXPECT_SAMPLES(Timeline<T>(sink.Chunks(), 2, "flush"), want, "flush");
  EXPECT_EQ(core.Stats().frames, longest);
  EXPECT_EQ(core.Stats().chunks, (longest + kChunk - 1) / kChunk);
}

void TestFlushSourceAheadS16() {
  FlushAhead<int16_t>(SampleEncoding::kS16LE, 1, 2);
  FlushAhead<int16_t>(SampleEncoding::kS16LE, 0, 2);
  FlushAhead<int16_t>(SampleEncoding::kS16LE, 2, 4);
}

void TestFlushSourceAheadF32() {
  FlushAhead<float>(SampleEncoding::kF32LE, 1, 2);
  FlushAhead<float>(SampleEncoding::kF32LE, 0, 3);
}

// A lost server is stamped at the end of what was captured: the frames its streams wrote just
// before the loss, still in the rings when it is noticed, lie before the event's position, not
// after it (the capture's silence starts there). Its return is stamped where the clock is.
void TestServerLostAfterCapturedFrames() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  Signal<int16_t> a = RampS16(0, 8000, 2);
  Signal<int16_t> b = RampS16(1, 8000, 2);
  WriteSome(core, ia, a, 3000);
  WriteSome(core, ib, b, 3000);
  Peer::Pump(core, false);
  const uint64_t produced = core.Stats().frames;
  EXPECT(produced > 0 && produced < 3000);  // whole chunks only: some frames wait
  // The server goes: a delivered 1500 more frames, b 700, before their streams were closed.
  WriteSome(core, ia, a, 1500);
  WriteSome(core, ib, b, 700);
  core.ReleaseSource(ia);
  core.ReleaseSource(ib);
  core.NoteServer(false);
  core.NoteServer(true);
  const auto servers = sink.Servers();
  EXPECT_EQ(servers.size(), 2u);
  EXPECT(!servers[0].first);
  EXPECT_EQ(servers[0].second, 4500u);  // every frame captured: the longer source's
  EXPECT(servers[1].first);
  EXPECT_EQ(servers[1].second, core.ClockPosition());
  // What the rings held is indeed before that position.
  Peer::Pump(core, true);
  EXPECT_EQ(core.Stats().frames, 4500u);
}

// The stop flush into a host whose queue fills: every chunk is still offered, at most one
// chunk long; those refused are counted in dropped_chunks and dropped_frames (the short last
// one by its own length), and the timeline counts them all.
void TestFlushIntoFullQueue() {
  FakeClock clock;
  FakeSink sink(10);
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  Signal<int16_t> a = RampS16(0, kRate + 250, 2);  // 1 s ahead of b
  Signal<int16_t> b = RampS16(1, kChunk / 3, 2);
  const int ib = core.AcquireSource();
  const int ia = core.AcquireSource();
  WriteSome(core, ia, a, SIZE_MAX);
  WriteSome(core, ib, b, SIZE_MAX);
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 0u);  // b, live, has less than a chunk: held
  Peer::Pump(core, true);
  const uint64_t total = kRate + 250;
  const uint64_t chunks = (total + kChunk - 1) / kChunk;
  const CaptureStats stats = core.Stats();
  EXPECT_EQ(stats.frames, total);
  EXPECT_EQ(stats.chunks, chunks);
  EXPECT_EQ(stats.dropped_chunks, chunks - 10);
  EXPECT_EQ(stats.dropped_frames, total - 10 * kChunk);
  const std::vector<uint64_t> offered = sink.Offered();
  bool spaced = offered.size() == chunks;
  for (size_t k = 0; spaced && k < offered.size(); ++k) spaced = offered[k] == k * kChunk;
  EXPECT(spaced);
  const std::vector<int16_t> want = ExpectedMix<int16_t>({&a, &b}, {0, 0}, 10 * kChunk, 2);
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "flush into a full queue"), want,
                 "flush into a full queue");
}

// A producer that keeps writing during the stop flush (here: a chunk per chunk emitted,
// faster than the flush drains) cannot keep the stop from ending: the flush emits the
// backlog it found when it began, and no more.
void TestFlushEndsWhileProducerWrites() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kF32LE, 2), &sink);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  Signal<float> a = RampF32(0, 60 * kChunk, 2);
  Signal<float> b = RampF32(1, 3 * kChunk + 7, 2);
  WriteSome(core, ia, a, 5 * kChunk + 11);
  WriteSome(core, ib, b, SIZE_MAX);
  int calls = 0;
  sink.on_chunk = [&](uint64_t) {
    if (++calls > 1000) return;  // a runaway flush ends here, and fails the counts below
    WriteSome(core, ia, a, kChunk + 1);
  };
  Peer::Pump(core, true);
  sink.on_chunk = nullptr;
  const uint64_t backlog = 5 * kChunk + 11;
  EXPECT_EQ(core.Stats().frames, backlog);
  EXPECT_EQ(core.Stats().chunks, (backlog + kChunk - 1) / kChunk);
  EXPECT(a.written > backlog);  // the producer did write during the flush
  const std::vector<float> want = ExpectedMix<float>({&a, &b}, {0, 0}, backlog, 2);
  EXPECT_SAMPLES(Timeline<float>(sink.Chunks(), 2, "flush with a producer"), want,
                 "flush with a producer");
}

// The mix buffers hold one chunk, and EmitMix asserts it is never asked for more (test
// builds keep assert): a child process asking for chunk_frames + 1 frames with two sources
// (the second is mixed through the buffers) must die of that assert.
void TestEmitMixBoundAsserted() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  EXPECT_EQ(Peer::MixBufferFrames(core), size_t{kChunk});
  Signal<int16_t> a = RampS16(0, 3 * kChunk, 2);
  Signal<int16_t> b = RampS16(1, 3 * kChunk, 2);
  const int ia = core.AcquireSource();
  const int ib = core.AcquireSource();
  WriteSome(core, ia, a, SIZE_MAX);
  WriteSome(core, ib, b, SIZE_MAX);
  // In bound: exactly one chunk, mixed.
  Peer::PlaceSources(core);
  Peer::EmitMix(core, kChunk);
  EXPECT_EQ(core.Stats().frames, size_t{kChunk});
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    // No sanitizer report for the expected abort; quiet stderr (the assert message).
    std::freopen("/dev/null", "w", stderr);
    Peer::EmitMix(core, kChunk + 1);
    _exit(0);  // not reached when the bound is asserted
  }
  int status = 0;
  EXPECT(child > 0 && waitpid(child, &status, 0) == child);
  EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  // The parent's core is untouched by the child: the rest comes out in whole chunks.
  Peer::Pump(core, true);
  const std::vector<int16_t> want = ExpectedMix<int16_t>({&a, &b}, {0, 0}, 3 * kChunk, 2);
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "after the bound"), want,
                 "after the bound");
}

}  // namespace

std::vector<check::Test> TimelineTests() {
  return {
      {"SilenceFollowsClock", TestSilenceFollowsClock},
      {"DropCounting", TestDropCounting},
      {"RingOverrunCounted", TestRingOverrunCounted},
      {"WriteSilence", TestWriteSilence},
      {"FlushSourceAheadS16", TestFlushSourceAheadS16},
      {"FlushSourceAheadF32", TestFlushSourceAheadF32},
      {"FlushIntoFullQueue", TestFlushIntoFullQueue},
      {"ServerLostAfterCapturedFrames", TestServerLostAfterCapturedFrames},
      {"FlushEndsWhileProducerWrites", TestFlushEndsWhileProducerWrites},
      {"EmitMixBoundAsserted", TestEmitMixBoundAsserted},
  };
}

}  // namespace cctest

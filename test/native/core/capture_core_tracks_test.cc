// Capture core unit tests: tracks side by side in every frame (each the mix of its own
// sources), and timed sources placed on the timeline by their capture timestamps (a stream
// that starts later lands where it sounded, to the frame). Deterministic: Pump runs on the
// test's thread against a clock advanced by hand.
#include <cmath>
#include <thread>

#include "capture_core_harness.h"

namespace cctest {
namespace {

CaptureOptions TrackOptions(uint32_t tracks, uint32_t channels = 2,
                            SampleEncoding encoding = SampleEncoding::kS16LE) {
  CaptureOptions options = Options(encoding, channels);
  options.tracks = tracks;
  return options;
}

// Track `track` of a timeline of `tracks` tracks of `channels` channels.
template <typename T>
std::vector<T> TrackOf(const std::vector<T>& frames, uint32_t tracks, uint32_t channels,
                       uint32_t track) {
  std::vector<T> out;
  const size_t stride = static_cast<size_t>(tracks) * channels;
  for (size_t at = 0; at + stride <= frames.size(); at += stride) {
    for (uint32_t c = 0; c < channels; ++c) out.push_back(frames[at + track * channels + c]);
  }
  return out;
}

std::string ErrorCode(const std::function<void()>& action) {
  try {
    action();
  } catch (const EngineError& error) {
    return error.code;
  }
  return "";
}

// Three tracks: one source, two mixed, one silent. Each frame holds them side by side.
template <typename T>
void TracksSideBySide(SampleEncoding encoding) {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(4, 2, encoding), &sink);
  EXPECT_EQ(core.chunk_frame_bytes(), 4u * 2 * sizeof(T));
  const size_t total = 12 * kChunk + 250;
  Signal<T> a, b, c;
  if constexpr (std::is_same<T, int16_t>::value) {
    a = RampS16(0, total, 2);
    b = RampS16(1, total, 2);
    c = RampS16(2, total, 1);  // mono on a stereo track: the core's channel law
  } else {
    a = RampF32(0, total, 2);
    b = RampF32(1, total, 2);
    c = RampF32(2, total, 1);
  }
  const int ia = core.AcquireSource(0, 0);
  const int ib = core.AcquireSource(0, 2);
  const int ic = core.AcquireSource(1, 2);
  // Uneven bursts: the tracks still line up frame by frame.
  const size_t bursts[] = {700, 1300, 960, 3000, 17};
  for (int round = 0; a.written < total; ++round) {
    WriteSome(core, ia, a, bursts[round % 5]);
    WriteSome(core, ib, b, bursts[(round + 2) % 5]);
    WriteSome(core, ic, c, bursts[(round + 4) % 5]);
    clock.Advance(20 * kMs);
    Peer::Pump(core, false);
  }
  WriteSome(core, ib, b, SIZE_MAX);
  WriteSome(core, ic, c, SIZE_MAX);
  Peer::Pump(core, true);
  const std::vector<FakeSink::Chunk> chunks = sink.Chunks();
  const std::vector<T> frames = Timeline<T>(chunks, 8, "tracks");
  EXPECT_EQ(frames.size(), total * 8);
  // The expected mono-to-stereo copy (channel_mix.h: mono goes to both channels).
  Signal<T> c2{{}, 2};
  for (T v : c.samples) {
    c2.samples.push_back(v);
    c2.samples.push_back(v);
  }
  EXPECT_SAMPLES(TrackOf(frames, 4, 2, 0), a.samples, "track 0: a alone");
  EXPECT_SAMPLES(TrackOf(frames, 4, 2, 1), std::vector<T>(total * 2, T(0)), "track 1: silent");
  EXPECT_SAMPLES(TrackOf(frames, 4, 2, 2), ExpectedMix<T>({&b, &c2}, {0, 0}, total, 2),
                 "track 2: b and c mixed");
  EXPECT_SAMPLES(TrackOf(frames, 4, 2, 3), std::vector<T>(total * 2, T(0)), "track 3: silent");
}

void TestTracksS16() { TracksSideBySide<int16_t>(SampleEncoding::kS16LE); }
void TestTracksF32() { TracksSideBySide<float>(SampleEncoding::kF32LE); }

void TestTrackOutOfRange() {
  FakeSink sink;
  EXPECT_EQ(ErrorCode([&] { CaptureCore core(TrackOptions(0), &sink); }), std::string("EFORMAT"));
  EXPECT_EQ(ErrorCode([&] { CaptureCore core(TrackOptions(CaptureCore::kMaxTracks + 1), &sink); }),
            std::string("EFORMAT"));
  CaptureCore core(TrackOptions(2), &sink);
  EXPECT_EQ(ErrorCode([&] { core.AcquireSource(0, 2); }), std::string("EFORMAT"));
  EXPECT_EQ(core.Stats().sources, 0u);
  EXPECT(core.AcquireSource(0, 1) >= 0);
}

// An impulse at frame `at` of an otherwise silent stereo signal of `frames` frames.
Signal<int16_t> Impulse(size_t frames, size_t at) {
  Signal<int16_t> sig{std::vector<int16_t>(frames * 2, 0), 2};
  sig.samples[at * 2] = 20000;
  sig.samples[at * 2 + 1] = -20000;
  return sig;
}

// Writes `frames` of `sig`, saying its first frame was captured at `ns`.
void WriteTimed(CaptureCore& core, int id, Signal<int16_t>& sig, size_t frames, int64_t ns) {
  frames = std::min(frames, sig.frames() - sig.written);
  core.Write(id, sig.samples.data() + sig.written * 2, frames, ns);
  sig.written += frames;
}

// Where the first non-zero frame of a track is, or -1.
int64_t FirstSound(const std::vector<int16_t>& track) {
  for (size_t i = 0; i < track.size(); ++i) {
    if (track[i] != 0) return static_cast<int64_t>(i / 2);
  }
  return -1;
}

// The server's renders, as a stream's blocks: every 10 ms (480 frames), a block that ends now.
constexpr size_t kRender = 480;
constexpr int64_t kRenderNs = 10 * kMs;

// Two streams of one server, each with an impulse at the same instant: b opens 6 renders after
// a and its blocks come from the same renders (stamped up to 40 µs apart, as two connections'
// callbacks are); both impulses land on the same frame, and nothing is lost.
void TestTimedSourceLandsWhereItSounded() {
  for (uint32_t tracks : {1u, 2u}) {
    FakeClock clock;
    FakeSink sink;
    CaptureCore core(TrackOptions(tracks), &sink);
    const size_t impulse_at = 9000;  // a's frame
    const size_t b_late = 6 * kRender;
    Signal<int16_t> a = Impulse(20 * kChunk, impulse_at);
    Signal<int16_t> b = Impulse(20 * kChunk, impulse_at - b_late);
    const int ia = core.AcquireSource(0, 0, 1);
    int ib = -1;
    const int64_t t0 = 5000 * kMs;  // when a's frame 0 was rendered
    for (size_t render = 0; a.written < a.frames(); ++render) {
      // A block's first frame was rendered one block before it arrived.
      WriteTimed(core, ia, a, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
      if (render == 6) ib = core.AcquireSource(0, tracks - 1, 1);
      if (render >= 6) {
        WriteTimed(core, ib, b, kRender, t0 + static_cast<int64_t>(render) * kRenderNs + 40000);
      }
      clock.Advance(kRenderNs);
      Peer::Pump(core, false);
    }
    Peer::Pump(core, true);
    const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 2 * tracks, "timed");
    if (tracks == 2) {
      EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 0)), static_cast<int64_t>(impulse_at));
      EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 1)), static_cast<int64_t>(impulse_at));
    } else {
      // One track: the two impulses sum on one frame (and nothing else sounds).
      EXPECT_EQ(FirstSound(frames), static_cast<int64_t>(impulse_at));
      EXPECT_EQ(frames[impulse_at * 2], 32767);
    }
    EXPECT_EQ(core.Stats().overrun_frames, 0u);
  }
}

// A server that fell behind sends two renders at once: b's first block arrives with the second
// of a burst of two of a's, and those two match in time though they are neighbours. Placed only
// once three matches on new blocks agree, b still lands on the frame.
void TestBurstOfRendersDoesNotMisplace() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  const size_t impulse_at = 12000;
  const size_t b_late = 8 * kRender;
  Signal<int16_t> a = Impulse(40 * kChunk, impulse_at);
  Signal<int16_t> b = Impulse(40 * kChunk, impulse_at - b_late);
  const int ia = core.AcquireSource(0, 0, 1);
  const int ib = core.AcquireSource(0, 1, 1);
  const int64_t t0 = 9000 * kMs;
  // A block that arrives at `arrival_ns` (its end), as OnRead stamps it.
  auto write = [&](int id, Signal<int16_t>& sig, int64_t arrival_ns) {
    WriteTimed(core, id, sig, kRender, arrival_ns - kRenderNs);
  };
  size_t render = 0;
  for (; render < 8; ++render) {
    write(ia, a, t0 + static_cast<int64_t>(render + 1) * kRenderNs);
    clock.Advance(kRenderNs);
    Peer::Pump(core, false);
  }
  // Renders 8 and 9 arrive together (a late server catching up); b's render 8 with them, its
  // render 9 a moment later: the drain sees a's 9 beside b's 8 first.
  const int64_t burst = t0 + 10 * kRenderNs;
  write(ia, a, burst - 50000);
  write(ia, a, burst);
  write(ib, b, burst - 40000);
  Peer::Pump(core, false);
  write(ib, b, burst + 30000);
  render = 10;
  for (; a.written < a.frames(); ++render) {
    clock.Advance(kRenderNs);
    write(ia, a, t0 + static_cast<int64_t>(render + 1) * kRenderNs);
    write(ib, b, t0 + static_cast<int64_t>(render + 1) * kRenderNs + 20000);
    Peer::Pump(core, false);
  }
  Peer::Pump(core, true);
  const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 4, "burst");
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 0)), static_cast<int64_t>(impulse_at));
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 1)), static_cast<int64_t>(impulse_at));
  EXPECT_EQ(core.Stats().overrun_frames, 0u);
}

// A source that went quiet (an app's old stream after it exited; the clock filled the gap) is
// no reference: the app's next stream starts where an untimed one would, at the read point
// after the timeline caught up with the clock, whatever its stamps say.
void TestQuietSourceIsNoReference() {
  int64_t landed[2] = {-1, -1};
  for (int timed = 0; timed < 2; ++timed) {
    FakeClock clock;
    FakeSink sink;
    CaptureCore core(TrackOptions(1), &sink);
    const int64_t t0 = 4000 * kMs;
    Signal<int16_t> a = Impulse(10 * kChunk, 10 * kChunk - 1);
    const int ia = core.AcquireSource(0, 0, 1);
    for (size_t render = 0; a.written < a.frames(); ++render) {
      WriteTimed(core, ia, a, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
      clock.Advance(kRenderNs);
      Peer::Pump(core, false);
    }
    // a's stream stays open but delivers nothing (its removal not yet seen).
    for (int i = 0; i < 150; ++i) {  // 1.5 s of nothing: the clock fills silence
      clock.Advance(kRenderNs);
      Peer::Pump(core, false);
    }
    const int ib = core.AcquireSource(0, 0, 1);
    Signal<int16_t> b = Impulse(10 * kChunk, 100);
    for (size_t render = 0; b.written < b.frames(); ++render) {
      // Stamps that a quiet reference would map 0.4 s before where the clock has got to.
      const int64_t stamp = timed ? t0 + 1500 * kMs + static_cast<int64_t>(render) * kRenderNs : 0;
      WriteTimed(core, ib, b, kRender, stamp);
      clock.Advance(kRenderNs);
      Peer::Pump(core, false);
    }
    Peer::Pump(core, true);
    const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 2, "quiet reference");
    // The second impulse: b's.
    for (size_t i = 10 * kChunk; i < frames.size() / 2; ++i) {
      if (frames[i * 2] != 0) {
        landed[timed] = static_cast<int64_t>(i);
        break;
      }
    }
  }
  EXPECT(landed[0] > 0);
  EXPECT_EQ(landed[1], landed[0]);
}

// A stop right after a timed source's first block, before it could be matched: the flush places
// it by what is known and its frames come out, none lost.
void TestStopFlushesAnUnplacedSource() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  const int64_t t0 = 2000 * kMs;
  Signal<int16_t> a = Impulse(10 * kRender, 1);
  Signal<int16_t> b = Impulse(3 * kRender, 5);
  const int ia = core.AcquireSource(0, 0, 1);
  const int ib = core.AcquireSource(0, 1, 1);
  for (size_t render = 0; render < 4; ++render) {
    WriteTimed(core, ia, a, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
    clock.Advance(kRenderNs);
    Peer::Pump(core, false);
  }
  // b's first blocks, a render apart from a's latest: no match yet; then the stop.
  WriteTimed(core, ib, b, 3 * kRender, t0 + 7 * kRenderNs);
  Peer::Pump(core, true);
  uint64_t frames = 0;
  for (const FakeSink::Chunk& chunk : sink.Chunks()) frames += chunk.pcm.size() / 8;
  const std::vector<int16_t> out = Timeline<int16_t>(sink.Chunks(), 4, "flush unplaced");
  EXPECT(FirstSound(TrackOf(out, 2, 2, 1)) >= 0);  // b's impulse is in the file
  EXPECT(frames >= 4 * kRender);
  EXPECT_EQ(core.Stats().overrun_frames, 0u);
}

// A source that never shares a render with the others (another device's clock, blocks of its
// own size and phase): after the wait it is placed by its stamps alone, and held the timeline
// meanwhile, so none of its frames is lost.
void TestTimedSourceOfAnotherDevice() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  const int64_t t0 = 3000 * kMs;
  Signal<int16_t> a = Impulse(30 * kChunk, 15000);
  const size_t b_late = 2750;  // 57.29 ms after a's frame 0: between a's renders
  Signal<int16_t> b = Impulse(30 * kChunk, 15000 - b_late);
  const int ia = core.AcquireSource(0, 0, 1);
  const int ib = core.AcquireSource(0, 1, 2);  // another device
  auto stamp = [&](size_t frame) { return t0 + static_cast<int64_t>(frame) * 1000000000 / kRate; };
  int64_t now_ns = 0;
  while (a.written < a.frames()) {
    now_ns += kMs;
    clock.Advance(kMs);
    // a: 480-frame blocks every 10 ms; b: 353-frame blocks every 7.35 ms, from 60 ms on.
    if (now_ns % kRenderNs == 0) WriteTimed(core, ia, a, kRender, stamp(a.written));
    if (now_ns >= 60 * kMs && (now_ns - 60 * kMs) % (7 * kMs) == 0 && b.written < b.frames()) {
      WriteTimed(core, ib, b, 353, stamp(b_late + b.written));
    }
    Peer::Pump(core, false);
  }
  WriteSome(core, ib, b, SIZE_MAX);
  Peer::Pump(core, true);
  const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 4, "other device");
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 0)), 15000);
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 1)), 15000);
  EXPECT_EQ(core.Stats().overrun_frames, 0u);
}

// A timed source whose first frames were rendered before the read point (its data came late,
// after a stall): those frames are dropped and counted, and the rest lands where it sounded.
void TestLateTimedSourceSkipsToItsPlace() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  const int64_t t0 = 7000 * kMs;
  Signal<int16_t> a = Impulse(40 * kChunk, 12000);
  const int ia = core.AcquireSource(0, 0, 1);
  size_t render = 0;
  for (; render < 20; ++render) {  // 200 ms emitted
    WriteTimed(core, ia, a, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
    clock.Advance(kRenderNs);
    Peer::Pump(core, false);
  }
  EXPECT_EQ(core.Stats().frames, 10u * kChunk);
  // b's frame 0 was rendered with a's frame 4800 (render 10), and all of it arrives now.
  const int ib = core.AcquireSource(0, 1, 1);
  Signal<int16_t> b = Impulse(40 * kChunk, 12000 - 4800);
  for (size_t r = 10; r < 20; ++r) WriteTimed(core, ib, b, kRender, t0 + static_cast<int64_t>(r) * kRenderNs);
  for (; a.written < a.frames(); ++render) {
    WriteTimed(core, ia, a, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
    WriteTimed(core, ib, b, kRender, t0 + static_cast<int64_t>(render) * kRenderNs);
    clock.Advance(kRenderNs);
    Peer::Pump(core, false);
  }
  Peer::Pump(core, true);
  const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 4, "late");
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 0)), 12000);
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 1)), 12000);
  EXPECT_EQ(core.Stats().overrun_frames, 4800u);
}

// Timestamps out of reason (a clock 5 s off) are not trusted: after the wait the source starts
// at the read point, as an untimed one does; so does a timed source with nothing to compare
// with (the first).
void TestUntrustedTimestampsAtReadPoint() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  Signal<int16_t> a = Impulse(20 * kChunk, 5000);
  Signal<int16_t> b = Impulse(20 * kChunk, 100);
  const int ia = core.AcquireSource(0, 0);
  WriteTimed(core, ia, a, 2 * kChunk, 1000 * kMs);  // the first: no reference, at 0
  Peer::Pump(core, false);
  EXPECT_EQ(core.Stats().frames, 2u * kChunk);
  const int ib = core.AcquireSource(0, 1);
  for (int i = 0; a.written < a.frames(); ++i) {
    WriteTimed(core, ib, b, kChunk, 1000 * kMs + 5000 * kMs + i * 20 * kMs);
    WriteTimed(core, ia, a, kChunk, 0);  // untimed writes keep a's last stamp
    clock.Advance(20 * kMs);
    Peer::Pump(core, false);
  }
  Peer::Pump(core, true);
  const std::vector<int16_t> frames = Timeline<int16_t>(sink.Chunks(), 4, "untrusted");
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 0)), 5000);
  EXPECT_EQ(FirstSound(TrackOf(frames, 2, 2, 1)), static_cast<int64_t>(2 * kChunk + 100));
  EXPECT_EQ(core.Stats().overrun_frames, 0u);
}

// The real drain thread with two timed producers on two tracks (for TSan: the timestamp
// seqlock, the placement): every frame of both comes out, on one timeline.
void TestThreadedTimedTracks() {
  FakeSink sink;
  CaptureCore core(TrackOptions(2), &sink);
  const int ia = core.AcquireSource(0, 0);
  const int ib = core.AcquireSource(0, 1);
  core.Start();
  const size_t total = 40 * kChunk;
  auto produce = [&](int id) {
    std::vector<int16_t> block(240 * 2, 1000);
    const int64_t start = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now().time_since_epoch()).count();
    for (size_t written = 0; written < total; written += 240) {
      core.Write(id, block.data(), 240, start + static_cast<int64_t>(written) * 1000000000 / kRate);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  };
  std::thread pa(produce, ia);
  std::thread pb(produce, ib);
  pa.join();
  pb.join();
  core.End(EndReason::kStopped);
  core.Join();
  uint64_t frames = 0;
  for (const FakeSink::Chunk& chunk : sink.Chunks()) frames += chunk.pcm.size() / 8;
  EXPECT_EQ(frames + core.Stats().overrun_frames, core.Stats().frames + core.Stats().overrun_frames);
  EXPECT(frames >= total);
}

}  // namespace

std::vector<check::Test> TrackTests() {
  return {
      {"TracksS16", TestTracksS16},
      {"TracksF32", TestTracksF32},
      {"TrackOutOfRange", TestTrackOutOfRange},
      {"TimedSourceLandsWhereItSounded", TestTimedSourceLandsWhereItSounded},
      {"TimedSourceOfAnotherDevice", TestTimedSourceOfAnotherDevice},
      {"BurstOfRendersDoesNotMisplace", TestBurstOfRendersDoesNotMisplace},
      {"QuietSourceIsNoReference", TestQuietSourceIsNoReference},
      {"StopFlushesAnUnplacedSource", TestStopFlushesAnUnplacedSource},
      {"LateTimedSourceSkipsToItsPlace", TestLateTimedSourceSkipsToItsPlace},
      {"UntrustedTimestampsAtReadPoint", TestUntrustedTimestampsAtReadPoint},
      {"ThreadedTimedTracks", TestThreadedTimedTracks},
  };
}

}  // namespace cctest

// Capture core unit tests with real threads: the drain thread, producers writing while the
// capture stops, control threads opening and closing sources. Real clock; they assert only
// what no timing changes. These are the tests scripts/test-native.sh also runs under TSan
// (it selects them by the name prefix "Threaded").
#include <thread>

#include "capture_core_harness.h"

namespace cctest {
namespace {

// The same through the real drain thread: sources written before Start, End at once.
void TestThreadedStopFlushesAll() {
  FakeSink sink;
  {
    CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
    Signal<int16_t> a = RampS16(0, 3 * kRate, 2);
    Signal<int16_t> b = RampS16(1, kChunk / 2, 2);
    const int ib = core.AcquireSource();
    const int ia = core.AcquireSource();
    WriteSome(core, ia, a, SIZE_MAX);
    WriteSome(core, ib, b, SIZE_MAX);
    core.Start();
    core.End(EndReason::kTargetExited, "", "the app exited");
    core.End(EndReason::kError, "EOS", "too late: the first reason wins");
    core.Join();
    const std::vector<int16_t> want = ExpectedMix<int16_t>({&a, &b}, {0, 0}, a.frames(), 2);
    EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "threaded flush"), want,
                   "threaded flush");
  }
  EXPECT_EQ(sink.ends(), 1);
  EXPECT(!sink.after_end());
  EXPECT(sink.reason() == EndReason::kTargetExited);
  EXPECT(sink.message() == "the app exited");
  EXPECT_EQ(sink.end_stats().frames, 3u * kRate);
  EXPECT(sink.States() ==
         (std::vector<CaptureState>{CaptureState::kWaiting, CaptureState::kRecording}));
}

void TestThreadedEmptyCapture() {
  FakeSink sink;
  {
    CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
    core.Start();
  }  // the destructor ends (kStopped) and joins
  EXPECT_EQ(sink.ends(), 1);
  EXPECT(sink.reason() == EndReason::kStopped);
  EXPECT(sink.States() == std::vector<CaptureState>{CaptureState::kWaiting});
  EXPECT_EQ(sink.end_stats().frames, 0u);
  EXPECT(sink.Chunks().empty());
}

// ---- Real threads (what TSan checks) ----------------------------------------------------

// A producer thread writes a frame counter while the drain thread runs; the host ends the
// capture while the producer is still writing. Frames arrive once, in order, in chunks of
// at most chunk_frames; the end comes last; what was not emitted is what came after the stop.
void TestThreadedProducerWhileStopping() {
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE, 2, 480), &sink);
  const int id = core.AcquireSource();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> produced{0};
  core.Start();
  std::thread producer([&] {
    std::vector<int16_t> block;
    uint32_t counter = 0;
    size_t size = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      size = size * 17 % 509 + 1;  // 1..509 frames, uneven
      block.resize(size * 2);
      for (size_t i = 0; i < size; ++i, ++counter) {
        block[2 * i] = static_cast<int16_t>(counter & 0xFFFF);  // the counter's two halves
        block[2 * i + 1] = static_cast<int16_t>(counter >> 16);
      }
      core.Write(id, block.data(), size);
      produced.fetch_add(size, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  // Let it run for 20 chunks (bounded: a stuck drain fails the test instead of hanging it).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (sink.Offered().size() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  core.End(EndReason::kStopped);  // the producer still writes
  core.Join();
  stop.store(true);
  producer.join();
  const std::vector<FakeSink::Chunk> chunks = sink.Chunks();
  const CaptureStats stats = core.Stats();
  // Consecutive counters; only a ring overrun (the drain starved for a second: possible on
  // a loaded machine, not expected) may leave a gap, never a repeat or a step back.
  uint64_t next_position = 0;
  int64_t last = -1;
  bool in_order = true;
  bool consecutive = true;
  for (const FakeSink::Chunk& chunk : chunks) {
    in_order = in_order && chunk.position == next_position && chunk.pcm.size() <= 480u * 4;
    const uint16_t* p = reinterpret_cast<const uint16_t*>(chunk.pcm.data());
    for (size_t i = 0; i < chunk.pcm.size() / 4; ++i) {
      const int64_t counter = p[2 * i] | (int64_t{p[2 * i + 1]} << 16);
      in_order = in_order && counter > last;
      consecutive = consecutive && counter == last + 1;
      last = counter;
    }
    next_position += chunk.pcm.size() / 4;
  }
  EXPECT(in_order);
  EXPECT(consecutive || stats.overrun_frames > 0);
  EXPECT_EQ(stats.frames, next_position);
  EXPECT(stats.frames <= produced.load());
  EXPECT(chunks.size() >= 20u);
  EXPECT_EQ(sink.ends(), 1);
  EXPECT(!sink.after_end());
}

// Control threads open, pause and close sources (each with its own producer) while the drain
// thread mixes them: slots are reused, nothing leaks, the counts come back to 0.
void TestThreadedSourcesComeAndGo() {
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kF32LE, 2, 240), &sink);
  core.MarkRecording();
  core.Start();
  auto churn = [&core](float value) {
    std::vector<float> block(2 * 300, value);
    for (int round = 0; round < 40; ++round) {
      const int id = core.AcquireSource();
      if (id < 0) continue;
      std::thread producer([&core, &block, id, round] {
        for (int i = 0; i < 5; ++i) {
          core.Write(id, block.data(), 300);
          if (i == 2) core.SetSourcePaused(id, round % 2 == 0);
          std::this_thread::sleep_for(std::chrono::microseconds(300));
        }
        core.WriteSilence(id, 100);
      });
      producer.join();
      core.ReleaseSource(id);
    }
  };
  std::thread a(churn, 0.25f);
  std::thread b(churn, 0.5f);
  a.join();
  b.join();
  core.End(EndReason::kStopped);
  core.Join();
  const CaptureStats stats = sink.end_stats();
  EXPECT_EQ(sink.ends(), 1);
  EXPECT_EQ(stats.sources, 0u);
  EXPECT_EQ(stats.overrun_frames, 0u);
  // 80 sources of 1600 frames of 0.25 or 0.5, mixed: every sample is a sum of those, or 0.
  bool plausible = true;
  uint64_t frames = 0;
  for (const FakeSink::Chunk& chunk : sink.Chunks()) {
    const float* p = reinterpret_cast<const float*>(chunk.pcm.data());
    for (size_t i = 0; i < chunk.pcm.size() / 4; ++i) {
      const float quarters = p[i] * 4;
      plausible = plausible && quarters >= 0 && quarters == static_cast<int>(quarters);
    }
    frames += chunk.pcm.size() / 8;
  }
  EXPECT(plausible);
  EXPECT_EQ(frames, stats.frames);
  EXPECT(frames >= 1600u);  // at least the longest source's frames
}

// A producer that says Written after each block (as the Linux read path does) wakes the drain
// once its source holds a chunk: each chunk comes out soon after its last block, and between
// blocks the drain sleeps (its timeout is two chunks) instead of polling four times a chunk.
// Where producers do not wake it (macOS, Windows) the drain polls, and only the delay is checked.
void TestThreadedWrittenWakesTheDrain() {
  constexpr uint32_t kBigChunk = kRate / 10;  // 100 ms: a poll every 10 ms, a timeout of 200 ms
  constexpr int kChunks = 10;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE, 2, kBigChunk), &sink);
  core.MarkTargetPlaying();
  const int id = core.AcquireSource();
  const std::vector<int16_t> half(kBigChunk, 0);  // half a chunk of stereo frames
  core.Start();
  std::vector<int64_t> delays_ms;
  for (int k = 0; k < kChunks; ++k) {
    core.Write(id, half.data(), kBigChunk / 2);
    core.Written(id);  // half a chunk: no wake
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    core.Write(id, half.data(), kBigChunk / 2);
    const auto written = std::chrono::steady_clock::now();
    core.Written(id);
    const auto deadline = written + std::chrono::seconds(2);
    while (sink.Offered().size() < static_cast<size_t>(k + 1) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    delays_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - written)
                            .count());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the drain idles
  }
  const uint64_t passes = Peer::Passes(core);
  core.End(EndReason::kStopped);
  core.Join();
  EXPECT_EQ(sink.end_stats().frames, uint64_t{kChunks} * kBigChunk);
  std::sort(delays_ms.begin(), delays_ms.end());
  // Woken: about 0 ms (polled: up to 10 ms; a lost wake: up to the 200 ms timeout).
  EXPECT(delays_ms[kChunks / 2] < 50);
  if (DrainWake::kWakesOnWrite) {
    // Over about 1.3 s: one pass per chunk (its wake) and one per timeout (every 200 ms while
    // idle), 17 or so; polling every 10 ms would be about 130.
    std::printf("  drain passes over %d chunks: %llu; chunk delay median %lld ms\n", kChunks,
                static_cast<unsigned long long>(passes),
                static_cast<long long>(delays_ms[kChunks / 2]));
    EXPECT(passes <= 40u);
  }
}

}  // namespace

// 'waiting' only when the capture waits: a target that plays already (MarkTargetPlaying) or
// one that is always there (MarkRecording) goes straight to kRecording.
void TestThreadedNoWaitingWhenPlaying() {
  for (int mark = 0; mark < 2; ++mark) {
    FakeSink sink;
    {
      CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
      if (mark == 0) core.MarkTargetPlaying(); else core.MarkRecording();
      const int id = core.AcquireSource();
      Signal<int16_t> sig = RampS16(0, 2 * kChunk, 2);
      WriteSome(core, id, sig, SIZE_MAX);
      core.Start();
      core.End(EndReason::kStopped);
      core.Join();
    }
    EXPECT(sink.States() == std::vector<CaptureState>{CaptureState::kRecording});
    EXPECT_EQ(sink.end_stats().frames, 2u * kChunk);
  }
}

std::vector<check::Test> ThreadTests() {
  return {
      {"ThreadedStopFlushesAll", TestThreadedStopFlushesAll},
      {"ThreadedEmptyCapture", TestThreadedEmptyCapture},
      {"ThreadedNoWaitingWhenPlaying", TestThreadedNoWaitingWhenPlaying},
      {"ThreadedProducerWhileStopping", TestThreadedProducerWhileStopping},
      {"ThreadedSourcesComeAndGo", TestThreadedSourcesComeAndGo},
      {"ThreadedWrittenWakesTheDrain", TestThreadedWrittenWakesTheDrain},
  };
}

}  // namespace cctest

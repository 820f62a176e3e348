// Capture core unit tests of channel conversion (native/core/channel_mix.{h,cc}): a source
// recorded in another channel count than the capture's is converted by one law, the same on
// every server and OS: stereo to mono is the mean, (L + R) / 2, which cannot clip; mono to
// stereo copies. Deterministic: Pump runs on the test's thread.
#include "capture_core_harness.h"
#include "core/channel_mix.h"

namespace cctest {
namespace {

template <typename T>
std::vector<T> Interleave(const std::vector<T>& left, const std::vector<T>& right) {
  std::vector<T> out;
  for (size_t i = 0; i < left.size(); ++i) {
    out.push_back(left[i]);
    out.push_back(right[i]);
  }
  return out;
}

void TestConvertLaw() {
  // s16: the mean, rounded toward zero; equal channels keep their value, full scale included.
  const std::vector<int16_t> stereo = {32767, 32767, -32768, -32768, 32767, -32768,
                                       1000,  0,     -3,     0,      100,   -101};
  std::vector<int16_t> mono(6, 7);
  ConvertChannels(SampleEncoding::kS16LE, stereo.data(), 2, mono.data(), 1, 6);
  EXPECT(mono == (std::vector<int16_t>{32767, -32768, 0, 500, -1, 0}));
  // f32: exact halves; a full-scale tone in both channels stays at full scale, never above.
  const std::vector<float> fstereo = {1.0f, 1.0f, 0.9f, -0.9f, 0.5f, 0.0f};
  std::vector<float> fmono(3, 7.0f);
  ConvertChannels(SampleEncoding::kF32LE, fstereo.data(), 2, fmono.data(), 1, 3);
  EXPECT(fmono == (std::vector<float>{1.0f, 0.0f, 0.25f}));
  // Mono to stereo: copied, 0 dB.
  const std::vector<int16_t> one = {5, -32768, 32767};
  std::vector<int16_t> two(6, 7);
  ConvertChannels(SampleEncoding::kS16LE, one.data(), 1, two.data(), 2, 3);
  EXPECT(two == (std::vector<int16_t>{5, 5, -32768, -32768, 32767, 32767}));
  // Same count: unchanged.
  std::vector<float> same(6);
  ConvertChannels(SampleEncoding::kF32LE, fstereo.data(), 2, same.data(), 2, 3);
  EXPECT(same == fstereo);
  EXPECT(CanConvertChannels(2, 1) && CanConvertChannels(1, 2) && CanConvertChannels(2, 2));
  EXPECT(!CanConvertChannels(3, 2) && !CanConvertChannels(0, 1) && !CanConvertChannels(2, 3));
}

// A stereo source into a mono capture: every output sample is the mean of its frame, across
// chunk boundaries and bursts; the timeline counts frames, not samples.
template <typename T>
void StereoIntoMono(SampleEncoding encoding) {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(encoding, 1), &sink);
  const int id = core.AcquireSource(2);
  EXPECT_EQ(id, 0);
  Signal<T> sig;
  if constexpr (std::is_same<T, int16_t>::value) {
    sig = RampS16(0, 7 * kChunk + 123, 2, true);  // loud: L + R overflows int16
  } else {
    sig = RampF32(0, 7 * kChunk + 123, 2);
  }
  for (size_t burst : {size_t{500}, size_t{2000}, size_t{1}, size_t{SIZE_MAX}}) {
    WriteSome(core, id, sig, burst);
    Peer::Pump(core, false);
  }
  Peer::Pump(core, true);
  std::vector<T> want;
  for (size_t f = 0; f < sig.frames(); ++f) {
    if constexpr (std::is_same<T, int16_t>::value) {
      want.push_back(static_cast<int16_t>((int32_t{sig.samples[2 * f]} + sig.samples[2 * f + 1]) / 2));
    } else {
      want.push_back((sig.samples[2 * f] + sig.samples[2 * f + 1]) / 2.0f);
    }
  }
  EXPECT_SAMPLES(Timeline<T>(sink.Chunks(), 1, "stereo into mono"), want, "stereo into mono");
  EXPECT_EQ(core.Stats().frames, uint64_t{sig.frames()});
  EXPECT_EQ(core.Stats().overrun_frames, 0u);
}

void TestStereoIntoMonoS16() { StereoIntoMono<int16_t>(SampleEncoding::kS16LE); }
void TestStereoIntoMonoF32() { StereoIntoMono<float>(SampleEncoding::kF32LE); }

// A mono source into a stereo capture, mixed with a stereo source: the mono one is copied to
// both channels before the sum.
void TestMonoAndStereoIntoStereo() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE, 2), &sink);
  const int mono_id = core.AcquireSource(1);
  const int stereo_id = core.AcquireSource();  // the capture's own count
  Signal<int16_t> mono = RampS16(1, 3 * kChunk, 1);
  Signal<int16_t> stereo = RampS16(2, 3 * kChunk, 2);
  WriteSome(core, mono_id, mono, SIZE_MAX);
  WriteSome(core, stereo_id, stereo, SIZE_MAX);
  Peer::Pump(core, true);
  std::vector<int16_t> want;
  for (size_t f = 0; f < mono.frames(); ++f) {
    for (int c = 0; c < 2; ++c) {
      want.push_back(static_cast<int16_t>(mono.samples[f] + stereo.samples[2 * f + c]));
    }
  }
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 2, "mono and stereo"), want, "mono and stereo");
}

// Overruns count frames of the source, whatever its channel count; what fit is intact.
void TestOverrunCountsSourceFrames() {
  FakeClock clock;
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE, 1), &sink);
  const int id = core.AcquireSource(2);
  // The ring holds at least 4 s of stereo (rounded up to a power of two): write 12 s of it
  // without draining.
  Signal<int16_t> sig = RampS16(0, 12 * kRate, 2);
  WriteSome(core, id, sig, SIZE_MAX);
  const uint64_t overrun = core.Stats().overrun_frames;
  EXPECT(overrun > 0 && overrun <= 8u * kRate);
  Peer::Pump(core, true);
  EXPECT_EQ(core.Stats().frames + overrun, uint64_t{12 * kRate});
  std::vector<int16_t> want;
  for (size_t f = 0; f < core.Stats().frames; ++f) {
    want.push_back(static_cast<int16_t>((int32_t{sig.samples[2 * f]} + sig.samples[2 * f + 1]) / 2));
  }
  EXPECT_SAMPLES(Timeline<int16_t>(sink.Chunks(), 1, "overrun"), want, "what fit the ring");
}

// A source the core cannot convert is refused at once, with EFORMAT.
void TestUnconvertibleSourceRefused() {
  FakeSink sink;
  CaptureCore core(Options(SampleEncoding::kF32LE, 2), &sink);
  std::string code;
  try {
    core.AcquireSource(6);
  } catch (const EngineError& error) {
    code = error.code;
  }
  EXPECT_EQ(code, std::string("EFORMAT"));
  EXPECT_EQ(core.Stats().sources, 0u);
}

}  // namespace

std::vector<check::Test> ChannelTests() {
  return {
      {"ConvertLaw", TestConvertLaw},
      {"StereoIntoMonoS16", TestStereoIntoMonoS16},
      {"StereoIntoMonoF32", TestStereoIntoMonoF32},
      {"MonoAndStereoIntoStereo", TestMonoAndStereoIntoStereo},
      {"OverrunCountsSourceFrames", TestOverrunCountsSourceFrames},
      {"UnconvertibleSourceRefused", TestUnconvertibleSourceRefused},
  };
}

}  // namespace cctest

// Unit tests of native/dsp/channel_groups.h: a 1-or-2-channel processor (the eq's biquad
// cascade) run over N interleaved channels, as a multitrack recording's messages carry them.
// The reference is the processor itself on each group's channels alone: the result must be
// the same to the bit, every channel independent of the others. Built and run by
// scripts/test-native.sh under ASan + UBSan.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "dsp/biquad_cascade.h"
#include "dsp/channel_groups.h"
#include "dsp/soft_clipper.h"

using audiotap::BiquadCascade;
using audiotap::ChannelGroups;
using audiotap::SampleEncoding;
using audiotap::SoftClipper;

namespace {

// A peaking band (+9 dB at 1 kHz, Q 1.4, 48 kHz) and a high shelf (-6 dB at 6 kHz), RBJ
// cookbook, normalised (b0 b1 b2 a1 a2): two stages that ring, so state matters.
const double kStages[] = {
    1.0305, -1.8832, 0.8691, -1.8832, 0.8996,
    0.6667, -0.4511, 0.1379, -0.8221, 0.1756,
};

// Interleaved f32 frames: channel c is a sine of its own frequency and level, so a channel
// mixed into another would show.
std::vector<float> Signal(uint32_t channels, size_t frames, size_t start = 0) {
  std::vector<float> out(frames * channels);
  for (size_t n = 0; n < frames; n++) {
    for (uint32_t c = 0; c < channels; c++) {
      const double t = static_cast<double>(start + n) / 48000.0;
      out[n * channels + c] = static_cast<float>((0.1 + 0.05 * c) * std::sin(2 * M_PI * (300.0 + 410.0 * c) * t));
    }
  }
  return out;
}

// Channels [first, first + count) of interleaved frames.
template <typename T>
std::vector<T> Pick(const std::vector<T>& frames, uint32_t channels, uint32_t first, uint32_t count) {
  std::vector<T> out;
  for (size_t n = 0; n < frames.size() / channels; n++) {
    for (uint32_t c = first; c < first + count; c++) out.push_back(frames[n * channels + c]);
  }
  return out;
}

// What each group gives alone: pairs through a stereo cascade, an odd last channel through a
// mono one, `chunks` chunks of `frames`, with a ramped settings change after the first.
std::vector<float> Reference(const std::vector<float>& input, uint32_t channels, size_t chunks,
                             size_t frames) {
  std::vector<float> out(input.size());
  for (uint32_t first = 0; first < channels; first += 2) {
    const uint32_t count = channels - first >= 2 ? 2 : 1;
    BiquadCascade cascade(count);
    cascade.SetTarget(kStages, 2, 0.8, 0);
    std::vector<float> mine = Pick(input, channels, first, count);
    for (size_t k = 0; k < chunks; k++) {
      if (k == 1) cascade.SetTarget(kStages, 1, 1.2, 300);
      float* p = mine.data() + k * frames * count;
      cascade.Process(p, p, frames, SampleEncoding::kF32LE);
    }
    for (size_t n = 0; n < input.size() / channels; n++) {
      for (uint32_t c = 0; c < count; c++) out[n * channels + first + c] = mine[n * count + c];
    }
  }
  return out;
}

void EveryChannelCountMatchesItsGroupsAlone() {
  const size_t chunks = 4, frames = 480;
  for (uint32_t channels : {1u, 2u, 3u, 4u, 5u, 6u, 32u}) {
    const std::vector<float> input = Signal(channels, chunks * frames);
    const std::vector<float> want = Reference(input, channels, chunks, frames);
    ChannelGroups<BiquadCascade> groups(channels);
    EXPECT_EQ(groups.channels(), channels);
    groups.SetTarget(kStages, size_t{2}, 0.8, uint32_t{0});
    std::vector<float> got(input.size());
    for (size_t k = 0; k < chunks; k++) {
      if (k == 1) {
        groups.SetTarget(kStages, size_t{1}, 1.2, uint32_t{300});
        EXPECT(groups.ramping());
      }
      const size_t at = k * frames * channels;
      EXPECT_EQ(groups.Process(input.data() + at, got.data() + at, frames, SampleEncoding::kF32LE), size_t{0});
    }
    EXPECT_SAMPLES(got, want, "channels, processed in groups");
  }
}

void InPlaceIsTheSame() {
  const uint32_t channels = 5;
  const std::vector<float> input = Signal(channels, 960);
  ChannelGroups<BiquadCascade> apart(channels), in_place(channels);
  apart.SetTarget(kStages, size_t{2}, 1.0, uint32_t{0});
  in_place.SetTarget(kStages, size_t{2}, 1.0, uint32_t{0});
  std::vector<float> out(input.size()), buffer = input;
  apart.Process(input.data(), out.data(), 960, SampleEncoding::kF32LE);
  in_place.Process(buffer.data(), buffer.data(), 960, SampleEncoding::kF32LE);
  EXPECT_SAMPLES(buffer, out, "in place");
}

// A channel silent at the input stays silent: nothing of its neighbours reaches it.
void ChannelsStayApart() {
  const uint32_t channels = 4;
  std::vector<float> input = Signal(channels, 2048);
  for (size_t n = 0; n < 2048; n++) input[n * channels + 2] = 0.0f;
  ChannelGroups<BiquadCascade> groups(channels);
  groups.SetTarget(kStages, size_t{2}, 2.0, uint32_t{0});
  std::vector<float> out(input.size());
  groups.Process(input.data(), out.data(), 2048, SampleEncoding::kF32LE);
  const std::vector<float> silent = Pick(out, channels, 2, 1);
  EXPECT_SAMPLES(silent, std::vector<float>(2048, 0.0f), "the silent channel");
  EXPECT(Pick(out, channels, 3, 1) != Pick(input, channels, 3, 1));  // its pair partner was filtered
}

void S16MatchesItsGroupsAlone() {
  const uint32_t channels = 3;
  const size_t frames = 1000;
  std::vector<int16_t> input(frames * channels);
  for (size_t i = 0; i < input.size(); i++) {
    input[i] = static_cast<int16_t>(20000 * std::sin(0.013 * static_cast<double>(i) * (1 + i % channels)));
  }
  ChannelGroups<BiquadCascade> groups(channels);
  groups.SetTarget(kStages, size_t{2}, 1.5, uint32_t{0});  // loud enough to saturate some samples
  std::vector<int16_t> got(input.size());
  groups.Process(input.data(), got.data(), frames, SampleEncoding::kS16LE);
  BiquadCascade pair(2), single(1);
  pair.SetTarget(kStages, 2, 1.5, 0);
  single.SetTarget(kStages, 2, 1.5, 0);
  std::vector<int16_t> a = Pick(input, channels, 0, 2), b = Pick(input, channels, 2, 1);
  pair.Process(a.data(), a.data(), frames, SampleEncoding::kS16LE);
  single.Process(b.data(), b.data(), frames, SampleEncoding::kS16LE);
  EXPECT_SAMPLES(Pick(got, channels, 0, 2), a, "s16 channels 0-1");
  EXPECT_SAMPLES(Pick(got, channels, 2, 1), b, "s16 channel 2");
}

void NonFiniteSamplesAreCountedInEveryGroup() {
  const uint32_t channels = 5;
  std::vector<float> input = Signal(channels, 100);
  input[10 * channels + 0] = std::numeric_limits<float>::quiet_NaN();
  input[20 * channels + 3] = std::numeric_limits<float>::infinity();
  input[30 * channels + 4] = -std::numeric_limits<float>::infinity();
  ChannelGroups<BiquadCascade> groups(channels);
  groups.SetTarget(kStages, size_t{2}, 1.0, uint32_t{0});
  std::vector<float> out(input.size());
  EXPECT_EQ(groups.Process(input.data(), out.data(), 100, SampleEncoding::kF32LE), size_t{3});
  bool finite = true;
  for (float v : out) finite = finite && std::isfinite(v);
  EXPECT(finite);
}

void ResetClearsEveryGroup() {
  const uint32_t channels = 3;
  const std::vector<float> input = Signal(channels, 480);
  ChannelGroups<BiquadCascade> used(channels), fresh(channels);
  used.SetTarget(kStages, size_t{2}, 1.0, uint32_t{0});
  fresh.SetTarget(kStages, size_t{2}, 1.0, uint32_t{0});
  std::vector<float> out(input.size()), again(input.size());
  used.Process(input.data(), out.data(), 480, SampleEncoding::kF32LE);
  used.Reset();
  used.Process(input.data(), again.data(), 480, SampleEncoding::kF32LE);
  fresh.Process(input.data(), out.data(), 480, SampleEncoding::kF32LE);
  EXPECT_SAMPLES(again, out, "after reset");
}

void ChannelCountsOutOfRangeAreRefused() {
  for (uint32_t channels : {0u, 33u}) {
    bool threw = false;
    try {
      ChannelGroups<BiquadCascade> groups(channels);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT(threw);
    threw = false;
    try {
      SoftClipper clipper(channels);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    EXPECT(threw);
  }
}

// The soft clipper is per sample: any channel count, each sample its own.
void SoftClipperTakesAnyChannelCount() {
  const uint32_t channels = 6;
  std::vector<float> input = Signal(channels, 480);
  for (float& v : input) v *= 8.0f;
  SoftClipper many(channels), one(1);
  many.SetTarget(1.0, 0.5, 0.9, 0);
  one.SetTarget(1.0, 0.5, 0.9, 0);
  std::vector<float> got(input.size()), want = input;
  many.Process(input.data(), got.data(), 480, SampleEncoding::kF32LE);
  one.Process(want.data(), want.data(), want.size(), SampleEncoding::kF32LE);
  EXPECT_SAMPLES(got, want, "six channels clipped as samples");
  float peak = 0;
  for (float v : got) peak = std::max(peak, std::fabs(v));
  EXPECT(peak > 0.5f && peak < 0.9f);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"EveryChannelCountMatchesItsGroupsAlone", EveryChannelCountMatchesItsGroupsAlone},
      {"InPlaceIsTheSame", InPlaceIsTheSame},
      {"ChannelsStayApart", ChannelsStayApart},
      {"S16MatchesItsGroupsAlone", S16MatchesItsGroupsAlone},
      {"NonFiniteSamplesAreCountedInEveryGroup", NonFiniteSamplesAreCountedInEveryGroup},
      {"ResetClearsEveryGroup", ResetClearsEveryGroup},
      {"ChannelCountsOutOfRangeAreRefused", ChannelCountsOutOfRangeAreRefused},
      {"SoftClipperTakesAnyChannelCount", SoftClipperTakesAnyChannelCount},
  };
  return check::RunTests(tests, argc, argv);
}

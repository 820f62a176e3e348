#include "dsp/soft_clipper.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "dsp/sample_limits.h"

namespace audiotap {

SoftClipper::SoftClipper(uint32_t channels) : channels_(channels) {
  if (channels == 0 || channels > kMaxDspChannels) {
    throw std::invalid_argument("channels must be 1 to 32");
  }
}

void SoftClipper::SetTarget(double gain, double threshold, double ceiling, uint32_t ramp_frames) {
  if (!std::isfinite(gain) || !std::isfinite(threshold) || !std::isfinite(ceiling) ||
      gain < 0 || threshold <= 0 || ceiling <= threshold) {
    throw std::invalid_argument("need finite gain >= 0 and 0 < threshold < ceiling");
  }
  target_gain_ = gain;
  target_threshold_ = threshold;
  target_ceiling_ = ceiling;
  if (ramp_frames == 0) {
    ramp_left_ = 0;
    gain_ = gain;
    threshold_ = threshold;
    ceiling_ = ceiling;
    return;
  }
  ramp_left_ = ramp_frames;
  const double inv = 1.0 / ramp_frames;
  gain_step_ = (target_gain_ - gain_) * inv;
  threshold_step_ = (target_threshold_ - threshold_) * inv;
  ceiling_step_ = (target_ceiling_ - ceiling_) * inv;
}

namespace {

inline double Clip(double x, double t, double c) {
  const double a = std::fabs(x);
  if (a <= t) return x;
  const double knee = c - t;
  const double y = t + knee * std::tanh((a - t) / knee);
  // tanh rounds to exactly 1 for large arguments; the nextafter keeps the bound strict.
  const double bounded = std::min(y, std::nextafter(c, 0.0));
  return std::copysign(bounded, x);
}

inline float ClipF32(float v, double gain, double t, double c, size_t& bad) {
  double x = static_cast<double>(v) * gain;
  if (std::fabs(x) <= t) return static_cast<float>(x);
  if (!std::isfinite(x)) {
    if (!std::isfinite(v)) {
      bad++;
      return 0.0f;
    }
    x = std::copysign(HUGE_VAL, x);  // a finite sample times a large gain
  }
  float y = static_cast<float>(Clip(x, t, c));
  // Rounding to float may step past the ceiling by one ulp; step back.
  if (std::fabs(y) > c) y = std::nextafter(y, 0.0f);
  return y;
}

inline int16_t ClipS16(int16_t v, double gain, double t, double c) {
  const double y = Clip(v * (gain / 32767.0), t, c) * 32767.0;
  return static_cast<int16_t>(std::nearbyint(ClampS16(y)));
}

}  // namespace

size_t SoftClipper::Process(const void* in, void* out, size_t frames, SampleEncoding encoding) {
  const size_t C = channels_;
  const auto* src = static_cast<const uint8_t*>(in);
  auto* dst = static_cast<uint8_t*>(out);
  const bool s16 = encoding == SampleEncoding::kS16LE;
  const size_t bytes = s16 ? 2 : 4;
  size_t bad = 0;
  size_t n = 0;
  // Ramping: parameters move every frame.
  for (; n < frames && ramp_left_ > 0; n++) {
    gain_ += gain_step_;
    threshold_ += threshold_step_;
    ceiling_ += ceiling_step_;
    if (--ramp_left_ == 0) {
      gain_ = target_gain_;
      threshold_ = target_threshold_;
      ceiling_ = target_ceiling_;
    }
    for (size_t c = 0; c < C; c++) {
      const size_t at = (n * C + c) * bytes;
      if (s16) {
        int16_t v;
        std::memcpy(&v, src + at, 2);
        const int16_t y = ClipS16(v, gain_, threshold_, ceiling_);
        std::memcpy(dst + at, &y, 2);
      } else {
        float v;
        std::memcpy(&v, src + at, 4);
        const float y = ClipF32(v, gain_, threshold_, ceiling_, bad);
        std::memcpy(dst + at, &y, 4);
      }
    }
  }
  // Steady: fixed parameters; most samples take the |x| <= threshold branch.
  const double g = gain_, t = threshold_, c = ceiling_;
  const size_t first = n * C, samples = frames * C;
  if (s16) {
    for (size_t i = first; i < samples; i++) {
      int16_t v;
      std::memcpy(&v, src + 2 * i, 2);
      const int16_t y = ClipS16(v, g, t, c);
      std::memcpy(dst + 2 * i, &y, 2);
    }
  } else {
    for (size_t i = first; i < samples; i++) {
      float v;
      std::memcpy(&v, src + 4 * i, 4);
      const float y = ClipF32(v, g, t, c, bad);
      std::memcpy(dst + 4 * i, &y, 4);
    }
  }
  return bad;
}

}  // namespace audiotap

// The soft-clip node's clipper. Runs on the JavaScript thread, one instance per stream;
// nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/engine.h"
#include "dsp/sample_limits.h"

namespace audiotap {

// A smooth saturating clipper: y = x for |x| <= threshold, above it
// y = sign(x) * (t + (c - t) * tanh((|x| - t) / (c - t))) with t = threshold, c = ceiling,
// which is continuous with slope 1 at the threshold, strictly increasing and below the
// ceiling for every finite input. `gain` (linear) is applied before the curve, so the
// ceiling holds for any gain. Samples are in full-scale units (s16le: 32767 = 1.0).
class SoftClipper {
 public:
  // 1 to kMaxDspChannels interleaved channels; throws std::invalid_argument otherwise.
  explicit SoftClipper(uint32_t channels);

  // threshold, ceiling: linear full-scale amplitudes, 0 < threshold < ceiling; gain linear.
  // ramp_frames as for BiquadCascade::SetTarget.
  void SetTarget(double gain, double threshold, double ceiling, uint32_t ramp_frames);
  size_t Process(const void* in, void* out, size_t frames, SampleEncoding encoding);
  void Reset() {}

 private:
  uint32_t channels_;
  double gain_ = 1, threshold_ = 1, ceiling_ = 1;
  double target_gain_ = 1, target_threshold_ = 1, target_ceiling_ = 1;
  double gain_step_ = 0, threshold_step_ = 0, ceiling_step_ = 0;
  uint32_t ramp_left_ = 0;
};

}  // namespace audiotap

// The eq node's biquad cascade. It runs on the JavaScript thread, one instance per stream
// (recording). Coefficients are designed in TypeScript (src/dsp/cookbook.ts, RBJ Audio EQ
// Cookbook) and handed over already normalised (a0 = 1); this file only runs them. Nothing
// here allocates while processing: buffers grow only in SetTarget, which is called when
// settings or formats change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/engine.h"

namespace audiotap {

// A cascade of biquads in Direct Form I, in double precision, for 1 or 2 interleaved channels.
//
// Direct Form I is used because its state is only past inputs and outputs: coefficients can
// move under it sample by sample without the transients that transposed forms produce.
// Changes are ramped by interpolating the normalised coefficients (b0, b1, b2, a1, a2) from
// the current to the target set with a raised-cosine weight, w = (1 - cos(pi n / N)) / 2:
// every step is a convex combination, and the stability region of (a1, a2) is a triangle,
// which is convex, so every filter on the way is stable; the weight starts and ends with zero
// slope, so the output has no kink where the ramp begins or ends (a linear ramp leaves one).
class BiquadCascade {
 public:
  static constexpr size_t kCoefficients = 5;  // b0, b1, b2, a1, a2 per stage
  static constexpr size_t kMaxStages = 64;

  explicit BiquadCascade(uint32_t channels);

  // coefficients: stages * 5 doubles, normalised; gain: linear preamp applied before the
  // first stage. ramp_frames = 0 applies at once (used for a new stream), otherwise the
  // current filter moves to the target over that many frames. Throws std::invalid_argument
  // on a non-finite value or more than kMaxStages stages.
  void SetTarget(const double* coefficients, size_t stages, double gain, uint32_t ramp_frames);

  // Filters `frames` interleaved frames from `in` to `out` (may be the same memory; no
  // alignment required). Non-finite input samples are treated as 0 and counted; the count is
  // returned. s16le output is rounded and saturated to int16; f32le output is limited to the
  // float range so that it is always finite.
  size_t Process(const void* in, void* out, size_t frames, SampleEncoding encoding);

  // Clears the filter memory (a new recording), keeping the current coefficients.
  void Reset();

  uint32_t channels() const { return channels_; }
  size_t stages() const { return stages_; }
  bool ramping() const { return ramp_left_ > 0; }

 private:
  template <uint32_t C>
  void RunRamp(double* buffer, size_t frames);
  void EnsureStages(size_t stages);
  void FinishRamp();
  void TrackIdentity(const double* buffer, size_t frames);
  void FlushTinyState();

  uint32_t channels_;
  size_t stages_ = 0;         // stages run now (max of current and target during a ramp)
  size_t target_stages_ = 0;  // stages after the ramp ends
  std::vector<double> coef_;    // stages * 5, current
  std::vector<double> target_;  // stages * 5
  std::vector<double> from_;    // stages * 5, where the running ramp started
  std::vector<double> delta_;   // stages * 5, target - from
  // (stages + 1) * 2 * channels: entry k holds the last two samples entering stage k
  // (k = stages: the last two outputs), laid out [k][delay][channel].
  std::vector<double> state_;
  double gain_ = 1.0, target_gain_ = 1.0, gain_from_ = 1.0, gain_delta_ = 0.0;
  uint32_t ramp_left_ = 0;
  // Phasor of the raised-cosine weight: (cos, sin) of pi n / N, advanced by a rotation.
  double ramp_cos_ = 1.0, ramp_sin_ = 0.0, rotate_cos_ = 1.0, rotate_sin_ = 0.0;
  std::vector<double> scratch_;  // frames * channels, grows to the largest chunk seen
};

}  // namespace audiotap

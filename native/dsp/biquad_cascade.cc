#include "dsp/biquad_cascade.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "dsp/sample_limits.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define AUDIOTAP_SSE2 1
#endif

namespace audiotap {

namespace {

// State values this small are flushed to zero once per chunk: a decaying filter left alone
// on digital silence would otherwise reach subnormal doubles, which are very slow on x86.
constexpr double kTiny = 1e-150;

inline bool FiniteBits(uint32_t bits) { return (bits & 0x7f800000u) != 0x7f800000u; }

// True when every float sample is finite. Integer-only so that it vectorises; run on every
// f32 chunk so that the common case (all finite) can filter straight from the input.
bool AllFiniteF32(const uint8_t* bytes, size_t samples) {
  uint32_t nonfinite = 0;
  for (size_t i = 0; i < samples; i++) {
    uint32_t bits;
    std::memcpy(&bits, bytes + 4 * i, 4);
    nonfinite |= !FiniteBits(bits);
  }
  return nonfinite == 0;
}


// ---- Sample access. A frame is one `double` (mono) or one Pair (stereo). ----

// Two doubles (the left and right sample of a stereo frame), in one SSE2 register on x86-64.
#if AUDIOTAP_SSE2
struct Pair {
  __m128d v;
  static Pair Splat(double x) { return {_mm_set1_pd(x)}; }
};
inline Pair operator*(Pair a, Pair b) { return {_mm_mul_pd(a.v, b.v)}; }
inline Pair operator+(Pair a, Pair b) { return {_mm_add_pd(a.v, b.v)}; }
inline Pair operator-(Pair a, Pair b) { return {_mm_sub_pd(a.v, b.v)}; }
inline Pair LoadPair(const double* p) { return {_mm_loadu_pd(p)}; }
inline void StorePair(double* p, Pair x) { _mm_storeu_pd(p, x.v); }
inline Pair LoadPairF32(const uint8_t* p) {
  return {_mm_cvtps_pd(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(p))))};
}
inline void StorePairF32(uint8_t* p, Pair x) {
  const __m128d c = _mm_min_pd(_mm_max_pd(x.v, _mm_set1_pd(-kFloatMax)), _mm_set1_pd(kFloatMax));
  _mm_store_sd(reinterpret_cast<double*>(p), _mm_castps_pd(_mm_cvtpd_ps(c)));
}
inline Pair LoadPairS16(const uint8_t* p) {
  int16_t s[2];
  std::memcpy(s, p, 4);
  return {_mm_set_pd(s[1], s[0])};
}
inline void StorePairS16(uint8_t* p, Pair x) {
  // cvtpd rounds to nearest even (the default MXCSR mode), as std::nearbyint does.
  const __m128d c = _mm_min_pd(_mm_max_pd(x.v, _mm_set1_pd(-32768.0)), _mm_set1_pd(32767.0));
  const __m128i i = _mm_packs_epi32(_mm_cvtpd_epi32(c), _mm_setzero_si128());
  const int32_t both = _mm_cvtsi128_si32(i);
  std::memcpy(p, &both, 4);
}
#else
struct Pair {
  double l, r;
  static Pair Splat(double x) { return {x, x}; }
};
inline Pair operator*(Pair a, Pair b) { return {a.l * b.l, a.r * b.r}; }
inline Pair operator+(Pair a, Pair b) { return {a.l + b.l, a.r + b.r}; }
inline Pair operator-(Pair a, Pair b) { return {a.l - b.l, a.r - b.r}; }
inline Pair LoadPair(const double* p) { return {p[0], p[1]}; }
inline void StorePair(double* p, Pair x) { p[0] = x.l; p[1] = x.r; }
inline Pair LoadPairF32(const uint8_t* p) {
  float s[2];
  std::memcpy(s, p, 8);
  return {s[0], s[1]};
}
inline void StorePairF32(uint8_t* p, Pair x) {
  const float s[2] = {static_cast<float>(ClampF32(x.l)), static_cast<float>(ClampF32(x.r))};
  std::memcpy(p, s, 8);
}
inline Pair LoadPairS16(const uint8_t* p) {
  int16_t s[2];
  std::memcpy(s, p, 4);
  return {double(s[0]), double(s[1])};
}
inline void StorePairS16(uint8_t* p, Pair x) {
  const int16_t s[2] = {static_cast<int16_t>(std::nearbyint(ClampS16(x.l))),
                        static_cast<int16_t>(std::nearbyint(ClampS16(x.r)))};
  std::memcpy(p, s, 4);
}
#endif

template <typename T> struct Frame;
template <> struct Frame<double> {
  static constexpr size_t kChannels = 1;
  static double Splat(double x) { return x; }
  static double Load(const double* p) { return *p; }
  static void Store(double* p, double x) { *p = x; }
  static double LoadF32(const uint8_t* p) {
    float s;
    std::memcpy(&s, p, 4);
    return s;
  }
  static void StoreF32(uint8_t* p, double x) {
    const float s = static_cast<float>(ClampF32(x));
    std::memcpy(p, &s, 4);
  }
  static double LoadS16(const uint8_t* p) {
    int16_t s;
    std::memcpy(&s, p, 2);
    return s;
  }
  static void StoreS16(uint8_t* p, double x) {
    const int16_t s = static_cast<int16_t>(std::nearbyint(ClampS16(x)));
    std::memcpy(p, &s, 2);
  }
};
template <> struct Frame<Pair> {
  static constexpr size_t kChannels = 2;
  static Pair Splat(double x) { return Pair::Splat(x); }
  static Pair Load(const double* p) { return LoadPair(p); }
  static void Store(double* p, Pair x) { StorePair(p, x); }
  static Pair LoadF32(const uint8_t* p) { return LoadPairF32(p); }
  static void StoreF32(uint8_t* p, Pair x) { StorePairF32(p, x); }
  static Pair LoadS16(const uint8_t* p) { return LoadPairS16(p); }
  static void StoreS16(uint8_t* p, Pair x) { StorePairS16(p, x); }
};

// Sources and destinations of a stage pass: the chunk's PCM (with the preamp gain folded
// into the load) or the double scratch buffer between passes.
template <typename T> struct FromDouble {
  const double* p;
  double gain;
  T operator()(size_t n) const { return Frame<T>::Load(p + n * Frame<T>::kChannels) * Frame<T>::Splat(gain); }
};
template <typename T> struct FromF32 {
  const uint8_t* p;
  double gain;
  T operator()(size_t n) const { return Frame<T>::LoadF32(p + n * 4 * Frame<T>::kChannels) * Frame<T>::Splat(gain); }
};
template <typename T> struct FromS16 {
  const uint8_t* p;
  double gain;
  T operator()(size_t n) const { return Frame<T>::LoadS16(p + n * 2 * Frame<T>::kChannels) * Frame<T>::Splat(gain); }
};
template <typename T> struct ToDouble {
  double* p;
  void operator()(size_t n, T x) const { Frame<T>::Store(p + n * Frame<T>::kChannels, x); }
};
template <typename T> struct ToF32 {
  uint8_t* p;
  void operator()(size_t n, T x) const { Frame<T>::StoreF32(p + n * 4 * Frame<T>::kChannels, x); }
};
template <typename T> struct ToS16 {
  uint8_t* p;
  void operator()(size_t n, T x) const { Frame<T>::StoreS16(p + n * 2 * Frame<T>::kChannels, x); }
};

// Runs G consecutive stages over a chunk with their coefficients and memory in registers.
// Several stages per pass let the CPU overlap their recursions (one stage per pass would be
// bound by the latency of y[n-1] -> y[n]); more than four spill registers on x86-64.
// state: (G + 1) histories of [z1 (C doubles), z2 (C doubles)], entry k entering stage k.
// Entry G is also entry 0 of the next pass, which still needs its value from before this
// chunk, so only the last pass writes it back.
template <typename T, int G, typename Src, typename Dst>
void RunStages(Src src, Dst dst, size_t frames, const double* __restrict coef,
               double* __restrict state, bool last_pass) {
  constexpr size_t C = Frame<T>::kChannels;
  using F = Frame<T>;
  T b0[G], b1[G], b2[G], a1[G], a2[G], z1[G + 1], z2[G + 1];
  for (int k = 0; k < G; k++) {
    b0[k] = F::Splat(coef[k * 5 + 0]);
    b1[k] = F::Splat(coef[k * 5 + 1]);
    b2[k] = F::Splat(coef[k * 5 + 2]);
    a1[k] = F::Splat(coef[k * 5 + 3]);
    a2[k] = F::Splat(coef[k * 5 + 4]);
  }
  for (int k = 0; k <= G; k++) {
    z1[k] = F::Load(state + k * 2 * C);
    z2[k] = F::Load(state + k * 2 * C + C);
  }
  for (size_t n = 0; n < frames; n++) {
    T x = src(n);
    for (int k = 0; k < G; k++) {
      // Order chosen so the recursion y[n-1] -> y[n] is one multiply and one subtract.
      const T history = b1[k] * z1[k] + b2[k] * z2[k] - a2[k] * z2[k + 1];
      const T y = (history + b0[k] * x) - a1[k] * z1[k + 1];
      z2[k] = z1[k];
      z1[k] = x;
      x = y;
    }
    z2[G] = z1[G];
    z1[G] = x;
    dst(n, x);
  }
  for (int k = 0; k <= G; k++) {
    if (k == G && !last_pass) break;
    F::Store(state + k * 2 * C, z1[k]);
    F::Store(state + k * 2 * C + C, z2[k]);
  }
}

template <typename T, typename Src, typename Dst>
void RunPass(size_t group, Src src, Dst dst, size_t frames, const double* coef, double* state,
             bool last_pass) {
  switch (group) {
    case 4: RunStages<T, 4>(src, dst, frames, coef, state, last_pass); break;
    case 3: RunStages<T, 3>(src, dst, frames, coef, state, last_pass); break;
    case 2: RunStages<T, 2>(src, dst, frames, coef, state, last_pass); break;
    default: RunStages<T, 1>(src, dst, frames, coef, state, last_pass); break;
  }
}

// Stages per pass. A pass of four is bound by its multiplies, one of one or two by the latency
// of a recursion, so short passes are avoided: 10 = 4 + 3 + 3 rather than 4 + 4 + 2.
size_t GroupSize(size_t left) {
  if (left <= 4) return left;
  if (left == 5 || left == 6 || left == 9) return 3;
  return 4;
}

template <typename T, typename Src>
void RunCascade(Src src, size_t frames, const double* coef, double* state, size_t stages,
                double* scratch, uint8_t* out, SampleEncoding encoding) {
  constexpr size_t C = Frame<T>::kChannels;
  size_t k = 0;
  bool first = true;
  while (k < stages) {
    const size_t g = GroupSize(stages - k);
    const bool last = k + g == stages;
    const double* q = coef + k * BiquadCascade::kCoefficients;
    double* st = state + k * 2 * C;
    if (last) {
      if (encoding == SampleEncoding::kF32LE) {
        if (first) RunPass<T>(g, src, ToF32<T>{out}, frames, q, st, true);
        else RunPass<T>(g, FromDouble<T>{scratch, 1.0}, ToF32<T>{out}, frames, q, st, true);
      } else {
        if (first) RunPass<T>(g, src, ToS16<T>{out}, frames, q, st, true);
        else RunPass<T>(g, FromDouble<T>{scratch, 1.0}, ToS16<T>{out}, frames, q, st, true);
      }
    } else if (first) {
      RunPass<T>(g, src, ToDouble<T>{scratch}, frames, q, st, false);
    } else {
      RunPass<T>(g, FromDouble<T>{scratch, 1.0}, ToDouble<T>{scratch}, frames, q, st, false);
    }
    first = false;
    k += g;
  }
}

// Loads interleaved PCM into doubles, replacing non-finite samples by 0; returns their count.
size_t LoadSanitized(const void* in, double* out, size_t samples, SampleEncoding encoding) {
  size_t bad = 0;
  const auto* bytes = static_cast<const uint8_t*>(in);
  if (encoding == SampleEncoding::kS16LE) {
    for (size_t i = 0; i < samples; i++) {
      int16_t v;
      std::memcpy(&v, bytes + 2 * i, 2);
      out[i] = v;
    }
  } else {
    for (size_t i = 0; i < samples; i++) {
      float v;
      std::memcpy(&v, bytes + 4 * i, 4);
      const bool finite = std::isfinite(v);
      bad += !finite;
      out[i] = finite ? static_cast<double>(v) : 0.0;
    }
  }
  return bad;
}

void StoreSamples(const double* in, void* out, size_t samples, SampleEncoding encoding) {
  auto* bytes = static_cast<uint8_t*>(out);
  if (encoding == SampleEncoding::kS16LE) {
    for (size_t i = 0; i < samples; i++) {
      const int16_t v = static_cast<int16_t>(std::nearbyint(ClampS16(in[i])));
      std::memcpy(bytes + 2 * i, &v, 2);
    }
  } else {
    for (size_t i = 0; i < samples; i++) {
      const float v = static_cast<float>(ClampF32(in[i]));
      std::memcpy(bytes + 4 * i, &v, 4);
    }
  }
}

bool AllFinite(const double* values, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(values[i])) return false;
  }
  return true;
}

}  // namespace

BiquadCascade::BiquadCascade(uint32_t channels) : channels_(channels) {
  if (channels != 1 && channels != 2) throw std::invalid_argument("channels must be 1 or 2");
  state_.assign(2 * channels_, 0.0);
}

void BiquadCascade::EnsureStages(size_t stages) {
  if (stages <= stages_) return;
  coef_.resize(stages * kCoefficients);
  target_.resize(stages * kCoefficients);
  from_.resize(stages * kCoefficients);
  delta_.resize(stages * kCoefficients);
  const size_t per = 2 * channels_;
  state_.resize((stages + 1) * per);
  for (size_t k = stages_; k < stages; k++) {
    // A new stage starts as the identity, so its input and output histories are both the
    // current output history of the cascade: adding it changes nothing audible.
    double* c = &coef_[k * kCoefficients];
    c[0] = 1.0;
    c[1] = c[2] = c[3] = c[4] = 0.0;
    std::copy(&state_[stages_ * per], &state_[stages_ * per] + per, &state_[(k + 1) * per]);
  }
  stages_ = stages;
}

void BiquadCascade::SetTarget(const double* coefficients, size_t stages, double gain,
                              uint32_t ramp_frames) {
  if (stages > kMaxStages) throw std::invalid_argument("too many biquad stages (max 64)");
  if (!AllFinite(coefficients, stages * kCoefficients) || !std::isfinite(gain)) {
    throw std::invalid_argument("coefficients and gain must be finite");
  }
  EnsureStages(stages);
  target_stages_ = stages;
  std::copy(coefficients, coefficients + stages * kCoefficients, target_.begin());
  for (size_t k = stages; k < stages_; k++) {
    double* t = &target_[k * kCoefficients];
    t[0] = 1.0;
    t[1] = t[2] = t[3] = t[4] = 0.0;
  }
  target_gain_ = gain;
  if (ramp_frames == 0) {
    FinishRamp();
    return;
  }
  ramp_left_ = ramp_frames;
  for (size_t i = 0; i < stages_ * kCoefficients; i++) {
    from_[i] = coef_[i];
    delta_[i] = target_[i] - coef_[i];
  }
  gain_from_ = gain_;
  gain_delta_ = target_gain_ - gain_;
  const double angle = 3.14159265358979323846 / ramp_frames;
  ramp_cos_ = 1.0;
  ramp_sin_ = 0.0;
  rotate_cos_ = std::cos(angle);
  rotate_sin_ = std::sin(angle);
}

void BiquadCascade::FinishRamp() {
  ramp_left_ = 0;
  std::copy(target_.begin(), target_.begin() + stages_ * kCoefficients, coef_.begin());
  gain_ = target_gain_;
  // Trailing stages that reached the identity are dropped; the output history moves down.
  if (target_stages_ < stages_) {
    const size_t per = 2 * channels_;
    std::copy(&state_[stages_ * per], &state_[stages_ * per] + per, &state_[target_stages_ * per]);
    stages_ = target_stages_;
  }
}

void BiquadCascade::Reset() { std::fill(state_.begin(), state_.end(), 0.0); }

void BiquadCascade::FlushTinyState() {
  for (double& v : state_) {
    if (std::fabs(v) < kTiny) v = 0.0;
  }
}

void BiquadCascade::TrackIdentity(const double* buffer, size_t frames) {
  // Bypassed (no stages, unity gain): output is the input, but the input history is kept so
  // that a later ramp back to a filter starts from the true signal history.
  const uint32_t C = channels_;
  for (uint32_t c = 0; c < C; c++) {
    state_[C + c] = frames >= 2 ? buffer[(frames - 2) * C + c] : state_[c];
    state_[c] = buffer[(frames - 1) * C + c];
  }
}

template <uint32_t C>
void BiquadCascade::RunRamp(double* __restrict buffer, size_t frames) {
  const size_t S = stages_;
  double* __restrict q = coef_.data();
  const double* __restrict from = from_.data();
  const double* __restrict delta = delta_.data();
  double* __restrict st = state_.data();
  for (size_t n = 0; n < frames; n++) {
    const double c = ramp_cos_ * rotate_cos_ - ramp_sin_ * rotate_sin_;
    ramp_sin_ = ramp_sin_ * rotate_cos_ + ramp_cos_ * rotate_sin_;
    ramp_cos_ = c;
    const double w = 0.5 - 0.5 * c;
    gain_ = gain_from_ + w * gain_delta_;
    for (size_t i = 0; i < S * kCoefficients; i++) q[i] = from[i] + w * delta[i];
    double x[C];
    for (uint32_t ch = 0; ch < C; ch++) x[ch] = buffer[n * C + ch] * gain_;
    for (size_t k = 0; k < S; k++) {
      const double* qk = q + k * kCoefficients;
      double* in = st + k * 2 * C;
      double* out = in + 2 * C;
      for (uint32_t ch = 0; ch < C; ch++) {
        const double y = qk[0] * x[ch] + qk[1] * in[ch] + qk[2] * in[C + ch] - qk[3] * out[ch] -
                         qk[4] * out[C + ch];
        in[C + ch] = in[ch];
        in[ch] = x[ch];
        x[ch] = y;
      }
    }
    double* last = st + S * 2 * C;
    for (uint32_t ch = 0; ch < C; ch++) {
      last[C + ch] = last[ch];
      last[ch] = x[ch];
      buffer[n * C + ch] = x[ch];
    }
  }
}

size_t BiquadCascade::Process(const void* in, void* out, size_t frames, SampleEncoding encoding) {
  if (frames == 0) return 0;
  const size_t samples = frames * channels_;
  const size_t sample_bytes = encoding == SampleEncoding::kS16LE ? 2 : 4;
  if (scratch_.size() < samples) scratch_.resize(samples);
  double* buf = scratch_.data();
  const auto* src = static_cast<const uint8_t*>(in);
  auto* dst = static_cast<uint8_t*>(out);

  const bool clean =
      encoding == SampleEncoding::kS16LE || AllFiniteF32(src, samples);
  const bool identity = ramp_left_ == 0 && stages_ == 0 && gain_ == 1.0;

  if (!clean || identity || ramp_left_ > 0 || stages_ == 0) {
    // General path through the double buffer: bypass, ramps, preamp only, or input that has
    // non-finite samples to replace.
    const size_t bad = LoadSanitized(in, buf, samples, encoding);
    if (identity) {
      TrackIdentity(buf, frames);
      if (bad == 0) {
        if (in != out) std::memcpy(out, in, samples * sample_bytes);
      } else {
        StoreSamples(buf, out, samples, encoding);
      }
      return bad;
    }
    size_t done = 0;
    while (done < frames && ramp_left_ > 0) {
      const size_t n = std::min<size_t>(ramp_left_, frames - done);
      if (channels_ == 2) RunRamp<2>(buf + done * 2, n); else RunRamp<1>(buf + done, n);
      ramp_left_ -= static_cast<uint32_t>(n);
      done += n;
      if (ramp_left_ == 0) FinishRamp();
    }
    if (done < frames) {
      double* rest = buf + done * channels_;
      const size_t n = frames - done;
      if (stages_ == 0) {
        for (size_t i = 0; i < n * channels_; i++) rest[i] *= gain_;
        TrackIdentity(rest, n);
      } else if (channels_ == 2) {
        RunCascade<Pair>(FromDouble<Pair>{rest, gain_}, n, coef_.data(), state_.data(), stages_,
                         rest, dst + done * 2 * sample_bytes, encoding);
        FlushTinyState();
        StoreSamples(buf, out, done * channels_, encoding);
        return bad;
      } else {
        RunCascade<double>(FromDouble<double>{rest, gain_}, n, coef_.data(), state_.data(),
                           stages_, rest, dst + done * sample_bytes, encoding);
        FlushTinyState();
        StoreSamples(buf, out, done * channels_, encoding);
        return bad;
      }
    }
    FlushTinyState();
    StoreSamples(buf, out, samples, encoding);
    return bad;
  }

  // Common path: all samples finite, fixed filter. The first pass reads the PCM directly and
  // the last writes it, so the chunk is converted only once each way.
  if (channels_ == 2) {
    if (encoding == SampleEncoding::kF32LE) {
      RunCascade<Pair>(FromF32<Pair>{src, gain_}, frames, coef_.data(), state_.data(), stages_,
                       buf, dst, encoding);
    } else {
      RunCascade<Pair>(FromS16<Pair>{src, gain_}, frames, coef_.data(), state_.data(), stages_,
                       buf, dst, encoding);
    }
  } else {
    if (encoding == SampleEncoding::kF32LE) {
      RunCascade<double>(FromF32<double>{src, gain_}, frames, coef_.data(), state_.data(),
                         stages_, buf, dst, encoding);
    } else {
      RunCascade<double>(FromS16<double>{src, gain_}, frames, coef_.data(), state_.data(),
                         stages_, buf, dst, encoding);
    }
  }
  FlushTinyState();
  return 0;
}

}  // namespace audiotap

// Limits shared by the DSP: the channels a processor takes, and the output sample formats (a
// double becomes an s16le or f32le sample through these: NaN → 0, saturated to the range).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cstdint>

namespace audiotap {

// Most interleaved channels a DSP processor takes: a PCM message's most (16 stereo tracks of a
// multitrack recording, src/format.ts MAX_MESSAGE_CHANNELS).
constexpr uint32_t kMaxDspChannels = 32;

constexpr double kFloatMax = FLT_MAX;

// Saturates to the int16 range (the caller rounds); NaN becomes 0.
inline double ClampS16(double v) { return v != v ? 0.0 : std::min(std::max(v, -32768.0), 32767.0); }

// Saturates to the finite float range; NaN becomes 0.
inline double ClampF32(double v) { return v != v ? 0.0 : std::min(std::max(v, -kFloatMax), kFloatMax); }

}  // namespace audiotap

// Channel conversion between a source's layout and the capture's, done by the capture core so
// that a mono capture sounds the same on every server and OS (PulseAudio averages a stereo
// stream down; PipeWire sums it at 0.707, +3 dB louder, and clips; Core Audio and WASAPI have
// laws of their own).
//
// The law:
//   stereo (or N channels) to mono: the mean of the channels, (L + R) / 2, that is -6.02 dB per
//     channel. A signal identical in both channels keeps its level; the sum cannot clip.
//   mono to N channels: the one channel copied to each, 0 dB.
//   N to N: unchanged.
// Other conversions (5.1 to stereo) are not done here: backends ask the OS for at most two.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/engine.h"

namespace audiotap {

// The most channels a capture source may have: a backend records stereo (or mono, when the
// device is mono) and the core converts.
constexpr uint32_t kMaxSourceChannels = 2;

// The channel count a backend records from a device or stream of `device_channels` channels:
// 1 from a mono one, else 2 (a surround one is brought to stereo by the OS or server). The
// core then converts to the caller's count by the law above, so no server or OS downmixes to
// mono for us. 0 (unknown) gives 2.
inline uint32_t RecordChannels(uint32_t device_channels) { return device_channels == 1 ? 1 : 2; }

// True when ConvertChannels converts `from` channels to `to`.
bool CanConvertChannels(uint32_t from, uint32_t to);

// Converts `frames` interleaved frames of `encoding` samples from `from` channels (`in`,
// frames * from samples) to `to` channels (`out`, frames * to samples) by the law above.
// `in` and `out` must not overlap. Real-time safe: no allocation, no lock. s16le means are
// rounded toward zero.
void ConvertChannels(SampleEncoding encoding, const void* in, uint32_t from, void* out,
                     uint32_t to, size_t frames);

}  // namespace audiotap

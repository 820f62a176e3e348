// Runs a DSP processor made for 1 or 2 interleaved channels (BiquadCascade) over any number of
// them: a multitrack recording's tracks side by side in every frame. Like the processors it
// runs, it lives on the JavaScript thread; it allocates only when a chunk is larger than any
// before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/engine.h"
#include "dsp/sample_limits.h"

namespace audiotap {

// The channels in pairs, 0-1, 2-3, ..., and an odd last one alone: each group is one
// processor with its own state, all given the same settings. Pairs keep the processor's
// stereo path (two channels per SIMD register); a group's samples are gathered into a
// contiguous block, processed in place and scattered back, so `in` may be `out`.
// With 1 or 2 channels the one processor runs on the chunk directly.
template <typename Processor>
class ChannelGroups {
 public:
  // Throws std::invalid_argument for 0 or more than kMaxDspChannels channels.
  explicit ChannelGroups(uint32_t channels) : channels_(channels) {
    if (channels == 0 || channels > kMaxDspChannels) {
      throw std::invalid_argument("channels must be 1 to 32");
    }
    for (uint32_t first = 0; first < channels; first += 2) {
      groups_.emplace_back(channels - first >= 2 ? 2 : 1);
    }
  }

  // The processor's own SetTarget, for every group (the first throws before any changes).
  template <typename... Args>
  void SetTarget(const Args&... args) {
    for (Processor& group : groups_) group.SetTarget(args...);
  }

  // `frames` interleaved frames of channels() samples from `in` to `out`; returns the
  // non-finite input samples replaced by 0 (the processors' count, summed).
  size_t Process(const void* in, void* out, size_t frames, SampleEncoding encoding) {
    if (groups_.size() == 1) return groups_[0].Process(in, out, frames, encoding);
    const size_t sample_bytes = encoding == SampleEncoding::kS16LE ? 2 : 4;
    const size_t frame_bytes = channels_ * sample_bytes;
    const auto* src = static_cast<const uint8_t*>(in);
    auto* dst = static_cast<uint8_t*>(out);
    if (block_.size() < frames * 2 * sample_bytes) block_.resize(frames * 2 * sample_bytes);
    uint8_t* block = block_.data();
    size_t bad = 0;
    for (size_t g = 0; g < groups_.size(); g++) {
      const size_t offset = g * 2 * sample_bytes;
      const size_t bytes = groups_[g].channels() * sample_bytes;
      for (size_t n = 0; n < frames; n++) {
        std::memcpy(block + n * bytes, src + n * frame_bytes + offset, bytes);
      }
      bad += groups_[g].Process(block, block, frames, encoding);
      for (size_t n = 0; n < frames; n++) {
        std::memcpy(dst + n * frame_bytes + offset, block + n * bytes, bytes);
      }
    }
    return bad;
  }

  void Reset() {
    for (Processor& group : groups_) group.Reset();
  }

  uint32_t channels() const { return channels_; }
  bool ramping() const { return groups_[0].ramping(); }

 private:
  uint32_t channels_;
  std::vector<Processor> groups_;
  std::vector<uint8_t> block_;  // one group's samples of the largest chunk seen
};

}  // namespace audiotap

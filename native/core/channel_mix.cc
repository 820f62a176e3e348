#include "core/channel_mix.h"

#include <cstring>

namespace audiotap {
namespace {

template <typename T, typename Wide>
void Convert(const T* in, uint32_t from, T* out, uint32_t to, size_t frames) {
  if (to == 1) {
    for (size_t f = 0; f < frames; ++f, in += from) {
      Wide sum = 0;
      for (uint32_t c = 0; c < from; ++c) sum += in[c];
      out[f] = static_cast<T>(sum / static_cast<Wide>(from));
    }
    return;
  }
  // from == 1
  for (size_t f = 0; f < frames; ++f, out += to) {
    for (uint32_t c = 0; c < to; ++c) out[c] = in[f];
  }
}

}  // namespace

bool CanConvertChannels(uint32_t from, uint32_t to) {
  if (from == 0 || to == 0 || from > kMaxSourceChannels || to > kMaxSourceChannels) return false;
  return from == to || from == 1 || to == 1;
}

void ConvertChannels(SampleEncoding encoding, const void* in, uint32_t from, void* out,
                     uint32_t to, size_t frames) {
  if (from == to) {
    std::memcpy(out, in, frames * from * BytesPerSample(encoding));
    return;
  }
  if (encoding == SampleEncoding::kF32LE) {
    Convert<float, float>(static_cast<const float*>(in), from, static_cast<float*>(out), to,
                          frames);
  } else {
    Convert<int16_t, int32_t>(static_cast<const int16_t*>(in), from, static_cast<int16_t*>(out),
                              to, frames);
  }
}

}  // namespace audiotap

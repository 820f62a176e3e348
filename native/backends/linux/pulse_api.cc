#include "backends/linux/pulse_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace audiotap {
namespace pulse {

const PulseApi& Pulse() {
  static std::once_flag once;
  static PulseApi api;
  static std::string failure;
  std::call_once(once, [] {
    void* handle = dlopen("libpulse.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      failure = std::string("libpulse.so.0 could not be loaded (") + dlerror() +
                "). Install the PulseAudio client library (Debian/Ubuntu: apt-get install "
                "libpulse0; Fedora: dnf install pulseaudio-libs) — it also serves PipeWire's "
                "pulse server.";
      return;
    }
#define AUDIOTAP_LOAD(name)                                                        \
  api.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name));           \
  if (!api.name) {                                                                 \
    failure = "libpulse.so.0 has no symbol " #name "; it is too old (need 1.0+)"; \
    return;                                                                        \
  }
    AUDIOTAP_PULSE_FUNCTIONS(AUDIOTAP_LOAD)
#undef AUDIOTAP_LOAD
  });
  if (!failure.empty()) throw EngineError("ENOLIB", failure);
  return api;
}

pa_sample_spec SampleSpecOf(const Format& format) {
  pa_sample_spec spec;
  spec.format = format.encoding == SampleEncoding::kS16LE ? PA_SAMPLE_S16LE : PA_SAMPLE_FLOAT32LE;
  spec.rate = format.sample_rate;
  spec.channels = static_cast<uint8_t>(format.channels);
  return spec;
}

pa_channel_map ChannelMapOf(const Format& format) {
  pa_channel_map map;
  Pulse().pa_channel_map_init_extend(&map, format.channels, PA_CHANNEL_MAP_DEFAULT);
  return map;
}

}  // namespace pulse
}  // namespace audiotap

#include "backends/linux/pipewire_api.h"

#include <dlfcn.h>

#include <mutex>

namespace audiotap {
namespace pulse {

const PipeWireApi* PipeWire() {
  static std::once_flag once;
  static PipeWireApi api;
  static bool loaded = false;
  std::call_once(once, [] {
    void* handle = dlopen("libpipewire-0.3.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return;
#define AUDIOTAP_LOAD(name)                                               \
  api.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name)); \
  if (!api.name) return;
    AUDIOTAP_PIPEWIRE_FUNCTIONS(AUDIOTAP_LOAD)
#undef AUDIOTAP_LOAD
    api.pw_init(nullptr, nullptr);
    loaded = true;
  });
  return loaded ? &api : nullptr;
}

}  // namespace pulse
}  // namespace audiotap

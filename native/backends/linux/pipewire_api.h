// libpipewire, loaded at run time (dlopen "libpipewire-0.3.so.0") like libpulse: the addon
// loads, and captures run, on machines without it (PulseAudio). Used only for what the pulse
// protocol cannot reach on a PipeWire server (stream_targets.h). The headers are used for types
// and for their inline method wrappers (pw_core_get_registry, pw_registry_bind, ...), which call
// through the objects' interfaces and need no symbol of their own.
#pragma once

#include <pipewire/extensions/metadata.h>
#include <pipewire/pipewire.h>

namespace audiotap {
namespace pulse {

#define AUDIOTAP_PIPEWIRE_FUNCTIONS(X) \
  X(pw_init)                           \
  X(pw_thread_loop_new)                \
  X(pw_thread_loop_destroy)            \
  X(pw_thread_loop_start)              \
  X(pw_thread_loop_stop)               \
  X(pw_thread_loop_lock)               \
  X(pw_thread_loop_unlock)             \
  X(pw_thread_loop_signal)             \
  X(pw_thread_loop_get_loop)           \
  X(pw_thread_loop_get_time)           \
  X(pw_thread_loop_timed_wait_full)    \
  X(pw_properties_new)                 \
  X(pw_context_new)                    \
  X(pw_context_destroy)                \
  X(pw_context_connect)                \
  X(pw_core_disconnect)                \
  X(pw_proxy_destroy)

struct PipeWireApi {
#define AUDIOTAP_DECLARE(name) decltype(&::name) name = nullptr;
  AUDIOTAP_PIPEWIRE_FUNCTIONS(AUDIOTAP_DECLARE)
#undef AUDIOTAP_DECLARE
};

// The loaded functions (pw_init called once), or nullptr when libpipewire cannot be loaded or
// lacks one of them: the caller then does without. The load is tried once per process.
const PipeWireApi* PipeWire();

}  // namespace pulse
}  // namespace audiotap

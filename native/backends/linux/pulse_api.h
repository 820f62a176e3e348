// libpulse, loaded at run time (dlopen "libpulse.so.0"), so the addon loads on machines without
// it and each call then says what is missing. The headers are used for types only.
#pragma once

#include <pulse/ext-stream-restore.h>
#include <pulse/pulseaudio.h>

#include "core/engine.h"

namespace audiotap {
namespace pulse {

#define AUDIOTAP_PULSE_FUNCTIONS(X)      \
  X(pa_threaded_mainloop_new)            \
  X(pa_threaded_mainloop_free)           \
  X(pa_threaded_mainloop_start)          \
  X(pa_threaded_mainloop_stop)           \
  X(pa_threaded_mainloop_lock)           \
  X(pa_threaded_mainloop_unlock)         \
  X(pa_threaded_mainloop_wait)           \
  X(pa_threaded_mainloop_signal)         \
  X(pa_threaded_mainloop_get_api)        \
  X(pa_context_new_with_proplist)        \
  X(pa_context_unref)                    \
  X(pa_context_connect)                  \
  X(pa_context_disconnect)               \
  X(pa_context_get_state)                \
  X(pa_context_errno)                    \
  X(pa_context_set_state_callback)       \
  X(pa_context_set_subscribe_callback)   \
  X(pa_context_subscribe)                \
  X(pa_context_get_server_info)          \
  X(pa_context_suspend_sink_by_index)    \
  X(pa_context_get_sink_info_by_name)    \
  X(pa_context_get_sink_info_by_index)   \
  X(pa_context_get_source_info_by_name)  \
  X(pa_context_get_sink_input_info)      \
  X(pa_context_get_sink_input_info_list) \
  X(pa_context_get_client_info_list)     \
  X(pa_context_set_sink_input_volume)    \
  X(pa_context_set_sink_input_mute)      \
  X(pa_context_rttime_new)               \
  X(pa_context_rttime_restart)           \
  X(pa_rtclock_now)                      \
  X(pa_operation_unref)                  \
  X(pa_operation_get_state)              \
  X(pa_operation_cancel)                 \
  X(pa_proplist_new)                     \
  X(pa_proplist_free)                    \
  X(pa_proplist_sets)                    \
  X(pa_proplist_gets)                    \
  X(pa_stream_new)                       \
  X(pa_stream_unref)                     \
  X(pa_stream_set_monitor_stream)        \
  X(pa_stream_connect_record)            \
  X(pa_stream_disconnect)                \
  X(pa_stream_get_state)                 \
  X(pa_stream_set_state_callback)        \
  X(pa_stream_set_read_callback)         \
  X(pa_stream_peek)                      \
  X(pa_stream_drop)                      \
  X(pa_stream_readable_size)             \
  X(pa_stream_connect_playback)          \
  X(pa_stream_set_write_callback)        \
  X(pa_stream_set_underflow_callback)    \
  X(pa_stream_begin_write)               \
  X(pa_stream_write)                     \
  X(pa_stream_get_latency)               \
  X(pa_usec_to_bytes)                    \
  X(pa_context_load_module)              \
  X(pa_context_unload_module)            \
  X(pa_context_move_sink_input_by_index) \
  X(pa_context_move_sink_input_by_name)  \
  X(pa_context_get_sink_info_list)       \
  X(pa_channel_map_init_extend)          \
  X(pa_cvolume_avg)                      \
  X(pa_cvolume_set)                      \
  X(pa_sw_volume_from_linear)            \
  X(pa_sw_volume_to_linear)              \
  X(pa_ext_stream_restore_read)          \
  X(pa_ext_stream_restore_write)         \
  X(pa_ext_stream_restore_delete)        \
  X(pa_strerror)

struct PulseApi {
#define AUDIOTAP_DECLARE(name) decltype(&::name) name = nullptr;
  AUDIOTAP_PULSE_FUNCTIONS(AUDIOTAP_DECLARE)
#undef AUDIOTAP_DECLARE
};

// The loaded functions. Throws EngineError ENOLIB (saying what to install) when libpulse
// cannot be loaded or is too old; the load is tried once per process.
const PulseApi& Pulse();

// The stream format of `format`: PA_SAMPLE_S16LE or PA_SAMPLE_FLOAT32LE, its rate and channels.
pa_sample_spec SampleSpecOf(const Format& format);

// The default layout for 1 or 2 channels (mono; front-left, front-right).
pa_channel_map ChannelMapOf(const Format& format);


}  // namespace pulse
}  // namespace audiotap

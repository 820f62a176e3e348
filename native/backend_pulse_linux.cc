// Linux backend over libpulse's asynchronous API with a threaded main loop. It serves
// PulseAudio and PipeWire's pulse server alike.
//
// An app is the set of sink-inputs of one process (application.process.id). Capturing an app
// records a monitor stream (pa_stream_set_monitor_stream) of each of its sink-inputs; the
// capture core mixes them. The system mix is the monitor source of the default sink; the mix
// minus apps monitors every other sink-input. Sink-inputs that appear later join.
//
// libpulse is loaded at run time (dlopen "libpulse.so.0"), so the addon loads on machines
// without it and each call then says what is missing. The headers are used for types only.
#include <dirent.h>
#include <dlfcn.h>
#include <pulse/pulseaudio.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "capture_core.h"
#include "engine.h"
#include "playback_core.h"

namespace audiotap {
namespace {

// ---------------------------------------------------------------------------------------------
// libpulse, loaded at run time.

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
  X(pa_context_get_sink_info_by_name)    \
  X(pa_context_get_sink_info_by_index)   \
  X(pa_context_get_sink_input_info)      \
  X(pa_context_get_sink_input_info_list) \
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
  X(pa_strerror)

struct PulseApi {
#define AUDIOTAP_DECLARE(name) decltype(&::name) name = nullptr;
  AUDIOTAP_PULSE_FUNCTIONS(AUDIOTAP_DECLARE)
#undef AUDIOTAP_DECLARE
};

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

// ---------------------------------------------------------------------------------------------
// Processes (/proc) — to tell "not playing yet" from "not running", and to notice exits.

std::string ToLower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// True while the process exists and is not a zombie.
bool ProcessAlive(int32_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc: trust kill()
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

// Does process `pid` go by `name` (comm, executable or argv[0] base name, case-insensitive)?
bool ProcessNamed(int32_t pid, const std::string& lower_name) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::string comm;
  std::getline(std::ifstream(dir + "/comm"), comm);
  // The kernel keeps 15 bytes of comm.
  if (!comm.empty() && ToLower(comm) == lower_name.substr(0, 15)) return true;
  char exe[4096];
  const ssize_t n = readlink((dir + "/exe").c_str(), exe, sizeof(exe) - 1);
  if (n > 0 && ToLower(BaseName(std::string(exe, static_cast<size_t>(n)))) == lower_name) {
    return true;
  }
  std::string argv0;
  std::getline(std::ifstream(dir + "/cmdline"), argv0, '\0');
  return !argv0.empty() && ToLower(BaseName(argv0)) == lower_name;
}

std::vector<int32_t> ProcessesNamed(const std::string& name) {
  std::vector<int32_t> pids;
  const std::string lower = ToLower(name);
  DIR* proc = opendir("/proc");
  if (!proc) return pids;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (ProcessNamed(static_cast<int32_t>(pid), lower) && ProcessAlive(static_cast<int32_t>(pid))) {
      pids.push_back(static_cast<int32_t>(pid));
    }
  }
  closedir(proc);
  return pids;
}

// ---------------------------------------------------------------------------------------------
// A connection: a threaded main loop and a context, ready on construction.

struct SinkInput {
  uint32_t index = PA_INVALID_INDEX;
  uint32_t sink = PA_INVALID_INDEX;
  int32_t pid = 0;
  std::string name;        // application.name
  std::string executable;  // application.process.binary
  bool corked = false;
  bool muted = false;
  double volume = 1.0;     // linear amplitude factor of the channel average
  uint8_t channels = 2;    // channels of the sink-input's volume
};

SinkInput ToSinkInput(const pa_sink_input_info* info) {
  const PulseApi& pa = Pulse();
  SinkInput input;
  input.index = info->index;
  input.sink = info->sink;
  if (const char* pid = pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_PROCESS_ID)) {
    input.pid = static_cast<int32_t>(std::strtol(pid, nullptr, 10));
  }
  if (const char* name = pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_NAME)) {
    input.name = name;
  }
  if (const char* binary =
          pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_PROCESS_BINARY)) {
    input.executable = binary;
  }
  input.corked = info->corked != 0;
  input.muted = info->mute != 0;
  input.volume = pa.pa_sw_volume_to_linear(pa.pa_cvolume_avg(&info->volume));
  input.channels = info->volume.channels;
  return input;
}

bool SinkInputNamed(const SinkInput& input, const std::string& lower_name) {
  return ToLower(input.name) == lower_name || ToLower(input.executable) == lower_name ||
         ToLower(BaseName(input.executable)) == lower_name;
}

pa_sample_spec SampleSpecOf(const Format& format) {
  pa_sample_spec spec;
  spec.format = format.encoding == SampleEncoding::kS16LE ? PA_SAMPLE_S16LE : PA_SAMPLE_FLOAT32LE;
  spec.rate = format.sample_rate;
  spec.channels = static_cast<uint8_t>(format.channels);
  return spec;
}

// The default layout for 1 or 2 channels (mono; front-left, front-right).
pa_channel_map ChannelMapOf(const Format& format) {
  pa_channel_map map;
  Pulse().pa_channel_map_init_extend(&map, format.channels, PA_CHANNEL_MAP_DEFAULT);
  return map;
}

// The private sink of a muted capture carries these properties, so that one left behind by a
// crashed process can be found and its streams put back.
constexpr const char* kOwnerProperty = "audio_tap.owner_pid";
constexpr const char* kRestoreProperty = "audio_tap.restore_sink";

class Connection {
 public:
  Connection() : pa_(Pulse()) {
    loop_ = pa_.pa_threaded_mainloop_new();
    if (!loop_) throw EngineError("EOS", "pa_threaded_mainloop_new failed");
    pa_proplist* props = pa_.pa_proplist_new();
    pa_.pa_proplist_sets(props, PA_PROP_APPLICATION_NAME, "node-red-contrib-audio-tap");
    pa_.pa_proplist_sets(props, PA_PROP_APPLICATION_ID, "org.nodered.audio-tap");
    context_ = pa_.pa_context_new_with_proplist(pa_.pa_threaded_mainloop_get_api(loop_),
                                                "node-red-contrib-audio-tap", props);
    pa_.pa_proplist_free(props);
    if (!context_) {
      pa_.pa_threaded_mainloop_free(loop_);
      throw EngineError("EOS", "pa_context_new failed");
    }
    pa_.pa_context_set_state_callback(context_, &Connection::OnContextState, this);
    if (pa_.pa_context_connect(context_, nullptr, PA_CONTEXT_NOAUTOSPAWN, nullptr) < 0 ||
        pa_.pa_threaded_mainloop_start(loop_) < 0) {
      const std::string why = pa_.pa_strerror(pa_.pa_context_errno(context_));
      pa_.pa_context_unref(context_);
      pa_.pa_threaded_mainloop_free(loop_);
      throw NoServer(why);
    }
    Lock();
    pa_context_state_t state;
    while ((state = pa_.pa_context_get_state(context_)) != PA_CONTEXT_READY &&
           PA_CONTEXT_IS_GOOD(state)) {
      Wait();
    }
    const std::string why = pa_.pa_strerror(pa_.pa_context_errno(context_));
    Unlock();
    if (state != PA_CONTEXT_READY) {
      Close();
      throw NoServer(why);
    }
  }

  ~Connection() { Close(); }

  pa_context* context() const { return context_; }
  pa_threaded_mainloop* loop() const { return loop_; }
  void Lock() { pa_.pa_threaded_mainloop_lock(loop_); }
  void Unlock() { pa_.pa_threaded_mainloop_unlock(loop_); }
  void Wait() { pa_.pa_threaded_mainloop_wait(loop_); }
  void Signal() { pa_.pa_threaded_mainloop_signal(loop_, 0); }
  std::string LastError() const { return pa_.pa_strerror(pa_.pa_context_errno(context_)); }

  // With the lock held: waits for `op` to finish. Throws if the server went away.
  void Await(pa_operation* op, const char* what) {
    if (!op) throw EngineError("EOS", std::string(what) + " failed: " + LastError());
    while (pa_.pa_operation_get_state(op) == PA_OPERATION_RUNNING) Wait();
    pa_.pa_operation_unref(op);
    if (!PA_CONTEXT_IS_GOOD(pa_.pa_context_get_state(context_))) {
      throw EngineError("ENOSERVER", std::string("the audio server closed the connection during ") +
                                         what + ": " + LastError());
    }
  }

  // With the lock held.
  std::vector<SinkInput> SinkInputs() {
    struct Ctx {
      Connection* self;
      std::vector<SinkInput> inputs;
    } ctx{this, {}};
    Await(pa_.pa_context_get_sink_input_info_list(
              context_,
              [](pa_context*, const pa_sink_input_info* info, int eol, void* user) {
                auto* c = static_cast<Ctx*>(user);
                if (eol) {
                  c->self->Signal();
                  return;
                }
                c->inputs.push_back(ToSinkInput(info));
              },
              &ctx),
          "listing sink-inputs");
    return ctx.inputs;
  }

  struct SinkSummary {
    uint32_t index = PA_INVALID_INDEX;  // PA_INVALID_INDEX: no such sink
    std::string name;
    std::string description;
    uint32_t monitor = PA_INVALID_INDEX;  // the sink's monitor source
    uint32_t module = PA_INVALID_INDEX;   // the module that owns it
    uint8_t channels = 0;
    uint32_t rate = 0;                    // Hz
    int32_t owner_pid = 0;                // > 0: a muted capture's private sink, of this process
    std::string restore;                  // with owner_pid: where its streams came from

    static SinkSummary Of(const pa_sink_info* info) {
      SinkSummary sink;
      sink.index = info->index;
      sink.name = info->name;
      sink.description = info->description ? info->description : info->name;
      sink.monitor = info->monitor_source;
      sink.module = info->owner_module;
      sink.channels = info->sample_spec.channels;
      sink.rate = info->sample_spec.rate;
      if (const char* owner = Pulse().pa_proplist_gets(info->proplist, kOwnerProperty)) {
        sink.owner_pid = static_cast<int32_t>(std::strtol(owner, nullptr, 10));
      }
      if (const char* restore = Pulse().pa_proplist_gets(info->proplist, kRestoreProperty)) {
        sink.restore = restore;
      }
      return sink;
    }
  };

  // With the lock held: every sink.
  std::vector<SinkSummary> Sinks() {
    struct Ctx {
      Connection* self;
      std::vector<SinkSummary> sinks;
    } ctx{this, {}};
    Await(pa_.pa_context_get_sink_info_list(
              context_,
              [](pa_context*, const pa_sink_info* info, int eol, void* user) {
                auto* x = static_cast<Ctx*>(user);
                if (info) x->sinks.push_back(SinkSummary::Of(info));
                if (eol) x->self->Signal();
              },
              &ctx),
          "listing sinks");
    return ctx.sinks;
  }

  // With the lock held: a sink by name ("" = the default sink) or by index.
  SinkSummary Sink(const std::string& sink_name) {
    std::string name = sink_name;
    if (name.empty()) {
      struct Ctx {
        Connection* self;
        std::string name;
      } ctx{this, {}};
      Await(pa_.pa_context_get_server_info(
                context_,
                [](pa_context*, const pa_server_info* info, void* user) {
                  auto* c = static_cast<Ctx*>(user);
                  if (info && info->default_sink_name) c->name = info->default_sink_name;
                  c->self->Signal();
                },
                &ctx),
            "reading the server info");
      if (ctx.name.empty()) return {};
      name = ctx.name;
    }
    SinkQuery query{this, {}};
    Await(pa_.pa_context_get_sink_info_by_name(context_, name.c_str(), &SinkQuery::OnInfo, &query),
          "reading the sink info");
    return query.sink;
  }

  SinkSummary Sink(uint32_t index) {
    SinkQuery query{this, {}};
    Await(pa_.pa_context_get_sink_info_by_index(context_, index, &SinkQuery::OnInfo, &query),
          "reading the sink info");
    return query.sink;
  }

  // With the lock held: the monitor source of a sink by name ("" = the default sink).
  // Throws ENOAPP when there is no such sink.
  uint32_t MonitorOfSink(const std::string& sink_name) {
    const SinkSummary sink = Sink(sink_name);
    if (sink.index == PA_INVALID_INDEX) {
      throw EngineError("ENOAPP", sink_name.empty()
                                      ? "the audio server has no default sink (no output device)"
                                      : "no output device (sink) named \"" + sink_name +
                                            "\"; list them with `pactl list short sinks`");
    }
    return sink.monitor;
  }

 private:
  struct SinkQuery {
    Connection* self;
    SinkSummary sink;
    static void OnInfo(pa_context*, const pa_sink_info* info, int eol, void* user) {
      auto* query = static_cast<SinkQuery*>(user);
      if (info) query->sink = SinkSummary::Of(info);
      if (eol) query->self->Signal();
    }
  };

  static void OnContextState(pa_context*, void* user) {
    static_cast<Connection*>(user)->Signal();
  }

  static EngineError NoServer(const std::string& why) {
    const char* server = getenv("PULSE_SERVER");
    const char* runtime = getenv("XDG_RUNTIME_DIR");
    return EngineError(
        "ENOSERVER",
        "no PulseAudio or PipeWire server reachable (" + why + "; PULSE_SERVER=" +
            (server ? server : "unset") + ", XDG_RUNTIME_DIR=" + (runtime ? runtime : "unset") +
            "). Start one (`pulseaudio --start`, or PipeWire with pipewire-pulse) or point "
            "PULSE_SERVER at it.");
  }

  void Close() {
    if (!loop_) return;
    if (context_) {
      Lock();
      pa_.pa_context_set_state_callback(context_, nullptr, nullptr);
      pa_.pa_context_set_subscribe_callback(context_, nullptr, nullptr);
      pa_.pa_context_disconnect(context_);
      Unlock();
    }
    pa_.pa_threaded_mainloop_stop(loop_);
    if (context_) pa_.pa_context_unref(context_);
    pa_.pa_threaded_mainloop_free(loop_);
    context_ = nullptr;
    loop_ = nullptr;
  }

  const PulseApi& pa_;
  pa_threaded_mainloop* loop_ = nullptr;
  pa_context* context_ = nullptr;
};

// Holds a connection's main-loop lock for a scope.
class LoopLock {
 public:
  explicit LoopLock(Connection& connection) : connection_(connection) { connection_.Lock(); }
  ~LoopLock() { connection_.Unlock(); }
  LoopLock(const LoopLock&) = delete;
  LoopLock& operator=(const LoopLock&) = delete;

 private:
  Connection& connection_;
};

std::string DescribeApps(const std::vector<SinkInput>& inputs) {
  std::map<int32_t, std::string> apps;
  for (const SinkInput& input : inputs) {
    if (input.pid > 0) {
      apps[input.pid] = (input.name.empty() ? input.executable : input.name) + " (PID " +
                        std::to_string(input.pid) + ")";
    }
  }
  if (apps.empty()) return "none";
  std::string text;
  for (const auto& [pid, description] : apps) {
    if (!text.empty()) text += ", ";
    text += description;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Muted captures (see PulseCapture): a private null sink per capture, marked with these
// properties so that one left by a crashed process can be found and removed.

void OperationDone(pa_context*, int, void* user) { static_cast<Connection*>(user)->Signal(); }

// With the lock held: removes private sinks whose owner process is gone, after moving their
// sink-inputs back to the sink they came from (or, if that is gone too, the server's
// default, which is where the server moves them when the sink goes away).
void RecoverStraySinks(Connection& c) {
  const PulseApi& pa = Pulse();
  std::vector<Connection::SinkSummary> strays;
  for (const Connection::SinkSummary& sink : c.Sinks()) {
    if (sink.owner_pid > 0 && sink.owner_pid != static_cast<int32_t>(getpid()) &&
        !ProcessAlive(sink.owner_pid)) {
      strays.push_back(sink);
    }
  }
  if (strays.empty()) return;
  const std::vector<SinkInput> inputs = c.SinkInputs();
  for (const Connection::SinkSummary& stray : strays) {
    for (const SinkInput& input : inputs) {
      if (input.sink != stray.index || stray.restore.empty()) continue;
      pa_operation* op = pa.pa_context_move_sink_input_by_name(c.context(), input.index,
                                                               stray.restore.c_str(),
                                                               OperationDone, &c);
      if (op) c.Await(op, "moving a stream back");
    }
    pa_operation* op = pa.pa_context_unload_module(c.context(), stray.module, OperationDone, &c);
    if (op) c.Await(op, "removing a stray private sink");
  }
}

// ---------------------------------------------------------------------------------------------
// A running capture.

class PulseCapture : public CaptureSession {
 public:
  PulseCapture(const CaptureOptions& options, CaptureCore* core)
      : pa_(Pulse()),
        options_(options),
        core_(core),
        // PulseAudio has no "muted only while read": a capture is always being read.
        mute_(options.EffectiveMuteMode() != MuteMode::kUnmuted) {}

  ~PulseCapture() override { Stop(); }

  // Worker thread. Throws EngineError; the destructor then releases what was opened.
  void Start() {
    connection_ = std::make_unique<Connection>();
    LoopLock lock(*connection_);
    StartLocked();
  }

  void Stop() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (!connection_) return;
    connection_->Lock();
    stopped_ = true;
    if (timer_) {
      pa_.pa_threaded_mainloop_get_api(connection_->loop())->time_free(timer_);
      timer_ = nullptr;
    }
    for (auto& [index, monitor] : monitors_) CloseMonitor(*monitor);
    monitors_.clear();
    RestoreMuted();
    connection_->Unlock();
    connection_.reset();
  }

 private:
  struct Monitor {
    PulseCapture* owner;
    uint32_t sink_input;  // PA_INVALID_INDEX for a plain sink monitor
    pa_stream* stream = nullptr;
    int source = -1;
  };

  void StartLocked() {
    Connection& c = *connection_;
    const Target& target = options_.target;
    RecoverStraySinks(c);
    if (mute_ && target.kind != TargetKind::kApps) {
      throw EngineError("EUNSUPPORTED",
                        "mute applies to app captures (one app or several), not to the system mix");
    }
    if (target.kind == TargetKind::kExistingTap) {
      throw EngineError("EUNSUPPORTED",
                        "attaching to an existing tap is a macOS feature; on Linux capture an "
                        "app or the system mix");
    }
    if (target.kind == TargetKind::kSystem && target.exclude.empty()) {
      // The whole mix of one sink: its monitor source.
      const uint32_t monitor = c.MonitorOfSink(options_.device);
      core_->MarkRecording();
      OpenMonitor(PA_INVALID_INDEX, monitor);
      return;
    }

    const std::vector<SinkInput> inputs = c.SinkInputs();
    if (target.kind == TargetKind::kApps) {
      ResolveApps(inputs);
      if (mute_) CreateMuteSink(inputs);
    } else {
      for (const AppSelector& selector : target.exclude) {
        if (selector.pid > 0) {
          exclude_pids_.insert(selector.pid);
        } else {
          exclude_names_.push_back(ToLower(selector.name));
        }
      }
      core_->MarkRecording();
    }

    // Follow sink-inputs from here on; subscribe before opening so none is missed.
    pa_.pa_context_set_subscribe_callback(c.context(), &PulseCapture::OnEvent, this);
    c.Await(pa_.pa_context_subscribe(c.context(), PA_SUBSCRIPTION_MASK_SINK_INPUT,
                                     [](pa_context*, int, void* user) {
                                       static_cast<Connection*>(user)->Signal();
                                     },
                                     &c),
            "subscribing to sink-input events");
    for (const SinkInput& input : inputs) {
      if (Wanted(input)) OpenMonitorOfSinkInput(input);
    }
    if (target.kind == TargetKind::kApps) StartExitTimer();
  }

  // Turns the app selectors into PIDs now playing, or names being waited for.
  void ResolveApps(const std::vector<SinkInput>& inputs) {
    for (const AppSelector& selector : options_.target.apps) {
      if (selector.pid > 0) {
        if (!ProcessAlive(selector.pid)) {
          throw EngineError("ENOAPP", "no running process has PID " +
                                          std::to_string(selector.pid) +
                                          ". Apps playing now: " + DescribeApps(inputs));
        }
        pids_.insert(selector.pid);
        continue;
      }
      const std::string lower = ToLower(selector.name);
      std::set<int32_t> playing;
      std::vector<SinkInput> matches;
      for (const SinkInput& input : inputs) {
        if (SinkInputNamed(input, lower) && input.pid > 0 && playing.insert(input.pid).second) {
          matches.push_back(input);
        }
      }
      if (matches.size() > 1) {
        throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches " +
                                            std::to_string(matches.size()) +
                                            " apps: " + DescribeApps(matches) +
                                            ". Choose one by PID.");
      }
      if (matches.size() == 1) {
        pids_.insert(matches[0].pid);
        continue;
      }
      if (ProcessesNamed(selector.name).empty()) {
        throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                        "\". Apps playing now: " + DescribeApps(inputs) +
                                        ". Start the app first, or check the name.");
      }
      waiting_names_.push_back(lower);
    }
  }

  bool Wanted(const SinkInput& input) {
    if (options_.target.kind == TargetKind::kSystem) {
      if (exclude_pids_.count(input.pid)) return false;
      for (const std::string& name : exclude_names_) {
        if (SinkInputNamed(input, name)) return false;
      }
      return true;
    }
    if (pids_.count(input.pid)) return true;
    // A name being waited for is pinned to the first process that plays under it.
    for (auto it = waiting_names_.begin(); it != waiting_names_.end(); ++it) {
      if (input.pid > 0 && SinkInputNamed(input, *it)) {
        pids_.insert(input.pid);
        waiting_names_.erase(it);
        return true;
      }
    }
    return false;
  }

  // Mute: the app's sink-inputs play into a private null sink, whose monitor is recorded;
  // nothing of the app reaches the sink it played to. With the lock held.
  void CreateMuteSink(const std::vector<SinkInput>& inputs) {
    Connection& c = *connection_;
    static std::atomic<unsigned> counter{0};
    mute_sink_name_ = "audio_tap_mute_" + std::to_string(getpid()) + "_" +
                      std::to_string(counter.fetch_add(1));
    // Where the app plays now is where its streams go back to (also after a crash).
    std::string restore;
    for (const SinkInput& input : inputs) {
      if (pids_.count(input.pid)) {
        restore = c.Sink(input.sink).name;
        break;
      }
    }
    if (restore.empty()) restore = c.Sink("").name;
    const std::string args =
        "sink_name=" + mute_sink_name_ + " rate=" + std::to_string(options_.format.sample_rate) +
        " channels=" + std::to_string(options_.format.channels) + " sink_properties=\"" +
        kOwnerProperty + "=" + std::to_string(getpid()) + " " + kRestoreProperty + "=" + restore +
        " device.description=audio-tap-mute\"";
    struct Ctx {
      Connection* self;
      uint32_t index;
    } ctx{&c, PA_INVALID_INDEX};
    c.Await(pa_.pa_context_load_module(c.context(), "module-null-sink", args.c_str(),
                                       [](pa_context*, uint32_t index, void* user) {
                                         auto* x = static_cast<Ctx*>(user);
                                         x->index = index;
                                         x->self->Signal();
                                       },
                                       &ctx),
            "creating the private sink for a muted capture");
    if (ctx.index == PA_INVALID_INDEX) {
      throw EngineError("EOS", "could not create a private null sink for the muted capture: " +
                                   c.LastError());
    }
    mute_module_ = ctx.index;
    const Connection::SinkSummary sink = c.Sink(mute_sink_name_);
    mute_sink_ = sink.index;
    mute_monitor_ = sink.monitor;
  }

  // Loop thread: moves one of the app's sink-inputs into the private sink.
  void MoveIntoMuteSink(const SinkInput& input) {
    if (moved_.count(input.index) || input.sink == mute_sink_) return;
    moved_[input.index] = input.sink;
    if (!monitors_.count(PA_INVALID_INDEX)) OpenMonitor(PA_INVALID_INDEX, mute_monitor_);
    pa_operation* op = pa_.pa_context_move_sink_input_by_index(
        connection_->context(), input.index, mute_sink_,
        [](pa_context*, int success, void* user) {
          if (!success) {
            static_cast<PulseCapture*>(user)->core_->sink()->OnWarning(
                "could not move a stream of the app into the muted capture's private sink");
          }
        },
        this);
    if (op) pa_.pa_operation_unref(op);
  }

  // With the lock held (Stop): the app's streams go back where they came from, and the
  // private sink goes away. The server may be gone already; then there is nothing to undo.
  void RestoreMuted() {
    if (mute_module_ == PA_INVALID_INDEX) return;
    Connection& c = *connection_;
    try {
      for (const auto& [sink_input, original] : moved_) {
        c.Await(pa_.pa_context_move_sink_input_by_index(c.context(), sink_input, original,
                                                        OperationDone, &c),
                "moving a stream back");
      }
      c.Await(pa_.pa_context_unload_module(c.context(), mute_module_, OperationDone, &c),
              "removing the private sink");
    } catch (const EngineError&) {
    }
    moved_.clear();
    mute_module_ = PA_INVALID_INDEX;
  }

  // Loop thread (or worker with the lock held).
  void OpenMonitorOfSinkInput(const SinkInput& input) {
    if (mute_) {
      MoveIntoMuteSink(input);
      return;
    }
    if (monitors_.count(input.index)) return;
    struct Pending {
      PulseCapture* self;
      uint32_t sink_input;
      bool corked;
    };
    auto* pending = new Pending{this, input.index, input.corked};
    pa_operation* op = pa_.pa_context_get_sink_info_by_index(
        connection_->context(), input.sink,
        [](pa_context*, const pa_sink_info* info, int eol, void* user) {
          auto* p = static_cast<Pending*>(user);
          if (info && !p->self->stopped_) {
            p->self->OpenMonitor(p->sink_input, info->monitor_source);
            auto it = p->self->monitors_.find(p->sink_input);
            if (it != p->self->monitors_.end()) {
              p->self->core_->SetSourcePaused(it->second->source, p->corked);
            }
          }
          if (eol) delete p;
        },
        pending);
    if (op) {
      pa_.pa_operation_unref(op);
    } else {
      delete pending;
    }
  }

  void OpenMonitor(uint32_t sink_input, uint32_t monitor_source) {
    if (sink_input != PA_INVALID_INDEX && monitors_.count(sink_input)) return;
    const pa_sample_spec spec = SampleSpecOf(options_.format);
    const pa_channel_map map = ChannelMapOf(options_.format);

    auto monitor = std::make_unique<Monitor>(Monitor{this, sink_input});
    monitor->source = core_->AcquireSource();
    if (monitor->source < 0) {
      core_->sink()->OnWarning("too many streams to mix (more than " +
                               std::to_string(CaptureCore::kMaxSources) + "); sink-input " +
                               std::to_string(sink_input) + " is left out");
      return;
    }
    monitor->stream = pa_.pa_stream_new(connection_->context(), "audio-tap monitor", &spec, &map);
    if (!monitor->stream) {
      core_->ReleaseSource(monitor->source);
      core_->sink()->OnWarning("could not create a monitor stream: " + connection_->LastError());
      return;
    }
    if (sink_input != PA_INVALID_INDEX) {
      pa_.pa_stream_set_monitor_stream(monitor->stream, sink_input);
    }
    pa_.pa_stream_set_read_callback(monitor->stream, &PulseCapture::OnRead, monitor.get());
    pa_.pa_stream_set_state_callback(monitor->stream, &PulseCapture::OnStreamState, monitor.get());
    pa_buffer_attr attr;
    attr.maxlength = static_cast<uint32_t>(-1);
    attr.tlength = attr.prebuf = attr.minreq = static_cast<uint32_t>(-1);
    // Fragments of half a chunk keep the drain's latency near one chunk.
    attr.fragsize = options_.chunk_frames * options_.format.BytesPerFrame() / 2;
    const std::string device = std::to_string(monitor_source);
    // Not PA_STREAM_DONT_INHIBIT_AUTO_SUSPEND: a suspended monitor source delivers nothing,
    // not even the sink-input's own monitor data.
    const auto flags = static_cast<pa_stream_flags_t>(
        PA_STREAM_ADJUST_LATENCY | PA_STREAM_DONT_MOVE);
    if (pa_.pa_stream_connect_record(monitor->stream, device.c_str(), &attr, flags) < 0) {
      const std::string why = connection_->LastError();
      CloseMonitor(*monitor);
      core_->sink()->OnWarning("could not monitor sink-input " + std::to_string(sink_input) +
                               ": " + why);
      return;
    }
    monitors_[sink_input] = std::move(monitor);
  }

  void CloseMonitor(Monitor& monitor) {
    if (monitor.stream) {
      pa_.pa_stream_set_read_callback(monitor.stream, nullptr, nullptr);
      pa_.pa_stream_set_state_callback(monitor.stream, nullptr, nullptr);
      if (pa_.pa_stream_get_state(monitor.stream) != PA_STREAM_UNCONNECTED) {
        pa_.pa_stream_disconnect(monitor.stream);
      }
      pa_.pa_stream_unref(monitor.stream);
      monitor.stream = nullptr;
    }
    if (monitor.source >= 0) core_->ReleaseSource(monitor.source);
    monitor.source = -1;
  }

  // The real-time path: copy into the core's ring, nothing else.
  static void OnRead(pa_stream* stream, size_t, void* user) {
    auto* monitor = static_cast<Monitor*>(user);
    PulseCapture* self = monitor->owner;
    const PulseApi& pa = self->pa_;
    const size_t frame = self->options_.format.BytesPerFrame();
    const void* data = nullptr;
    size_t bytes = 0;
    while (pa.pa_stream_readable_size(stream) > 0) {
      if (pa.pa_stream_peek(stream, &data, &bytes) < 0 || bytes == 0) return;
      if (data) {
        self->core_->Write(monitor->source, data, bytes / frame);
      } else {
        self->core_->WriteSilence(monitor->source, bytes / frame);  // a hole in the stream
      }
      pa.pa_stream_drop(stream);
    }
  }

  static void OnStreamState(pa_stream* stream, void* user) {
    auto* monitor = static_cast<Monitor*>(user);
    PulseCapture* self = monitor->owner;
    const pa_stream_state_t state = self->pa_.pa_stream_get_state(stream);
    if (state != PA_STREAM_FAILED && state != PA_STREAM_TERMINATED) return;
    // The server killed the monitor: its sink-input was moved or removed, or the sink went
    // away. Close it; a sink-input that still exists is monitored again where it now plays.
    const uint32_t sink_input = monitor->sink_input;
    auto it = self->monitors_.find(sink_input);
    if (it == self->monitors_.end() || it->second.get() != monitor) return;
    self->CloseMonitor(*monitor);
    self->monitors_.erase(it);
    if (sink_input == PA_INVALID_INDEX) {
      self->core_->End(EndReason::kError, "EOS", "the output device being recorded went away");
      return;
    }
    self->Requery(sink_input);
  }

  void Requery(uint32_t sink_input) {
    pa_operation* op = pa_.pa_context_get_sink_input_info(
        connection_->context(), sink_input,
        [](pa_context*, const pa_sink_input_info* info, int eol, void* user) {
          auto* self = static_cast<PulseCapture*>(user);
          if (!info || self->stopped_) return;
          const SinkInput input = ToSinkInput(info);
          auto moved = self->moved_.find(input.index);
          if (moved != self->moved_.end()) {
            // Moved elsewhere by someone else: it is no longer part of the muted capture.
            if (input.sink != self->mute_sink_ && input.sink != moved->second) {
              self->moved_.erase(moved);
            }
            return;
          }
          auto it = self->monitors_.find(input.index);
          if (it != self->monitors_.end()) {
            self->core_->SetSourcePaused(it->second->source, input.corked);
          } else if (self->Wanted(input)) {
            self->OpenMonitorOfSinkInput(input);
          }
        },
        this);
    if (op) pa_.pa_operation_unref(op);
  }

  static void OnEvent(pa_context*, pa_subscription_event_type_t type, uint32_t index,
                      void* user) {
    auto* self = static_cast<PulseCapture*>(user);
    if (self->stopped_) return;
    const auto facility = type & PA_SUBSCRIPTION_EVENT_FACILITY_MASK;
    const auto kind = type & PA_SUBSCRIPTION_EVENT_TYPE_MASK;
    if (facility != PA_SUBSCRIPTION_EVENT_SINK_INPUT) return;
    if (kind == PA_SUBSCRIPTION_EVENT_NEW ||
        (kind == PA_SUBSCRIPTION_EVENT_CHANGE &&
         (self->monitors_.count(index) || self->moved_.count(index)))) {
      self->Requery(index);  // a new sink-input to follow, or a followed one changed
    } else if (kind == PA_SUBSCRIPTION_EVENT_REMOVE) {
      self->moved_.erase(index);
      auto it = self->monitors_.find(index);
      if (it != self->monitors_.end()) {
        self->CloseMonitor(*it->second);
        self->monitors_.erase(it);
      }
    }
  }

  // kApps: every 250 ms, end the capture once every target process has exited (and its
  // streams are gone, or it has been gone for a second).
  void StartExitTimer() {
    timer_ = pa_.pa_context_rttime_new(connection_->context(), pa_.pa_rtclock_now() + 250000,
                                       &PulseCapture::OnTimer, this);
  }

  static void OnTimer(pa_mainloop_api*, pa_time_event* event, const struct timeval*, void* user) {
    auto* self = static_cast<PulseCapture*>(user);
    if (self->stopped_) return;
    bool alive = false;
    for (int32_t pid : self->pids_) alive = alive || ProcessAlive(pid);
    // Names not playing yet: scanning /proc costs more, so once a second.
    if (!alive && !self->waiting_names_.empty()) {
      alive = ++self->ticks_ % 4 != 0;
      for (size_t i = 0; !alive && i < self->waiting_names_.size(); ++i) {
        alive = !ProcessesNamed(self->waiting_names_[i]).empty();
      }
    }
    self->dead_ticks_ = alive ? 0 : self->dead_ticks_ + 1;
    const bool streams = self->mute_ ? !self->moved_.empty() : !self->monitors_.empty();
    if (self->dead_ticks_ > 0 && (!streams || self->dead_ticks_ >= 4)) {
      self->core_->End(EndReason::kTargetExited, "", "the app exited");
      return;
    }
    self->pa_.pa_context_rttime_restart(self->connection_->context(), event,
                                        self->pa_.pa_rtclock_now() + 250000);
  }

  const PulseApi& pa_;
  const CaptureOptions options_;
  CaptureCore* const core_;
  const bool mute_;
  std::unique_ptr<Connection> connection_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
  std::map<uint32_t, std::unique_ptr<Monitor>> monitors_;  // by sink-input index
  std::set<int32_t> pids_;                 // kApps: processes captured
  std::vector<std::string> waiting_names_; // kApps: lower-case names not playing yet
  std::set<int32_t> exclude_pids_;         // kSystem
  std::vector<std::string> exclude_names_; // kSystem, lower-case
  pa_time_event* timer_ = nullptr;
  int dead_ticks_ = 0;
  unsigned ticks_ = 0;
  // Mute: the private sink, and each moved sink-input's original sink index.
  std::string mute_sink_name_;
  uint32_t mute_module_ = PA_INVALID_INDEX;
  uint32_t mute_sink_ = PA_INVALID_INDEX;
  uint32_t mute_monitor_ = PA_INVALID_INDEX;
  std::map<uint32_t, uint32_t> moved_;
};

// ---------------------------------------------------------------------------------------------
// Playback (audio-out): a playback stream whose write callback pulls from the PlaybackCore.

class PulsePlayback : public PlaybackSession {
 public:
  PulsePlayback(const PlaybackOptions& options, PlaybackCore* core)
      : pa_(Pulse()), options_(options), core_(core) {}
  ~PulsePlayback() override { Stop(); }

  void Start() {
    connection_ = std::make_unique<Connection>();
    Connection& c = *connection_;
    try {
      LoopLock lock(c);
      const pa_sample_spec spec = SampleSpecOf(options_.format);
      const pa_channel_map map = ChannelMapOf(options_.format);
      stream_ = pa_.pa_stream_new(c.context(), "audio-tap output", &spec, &map);
      if (!stream_) throw EngineError("EOS", "pa_stream_new failed: " + c.LastError());
      pa_.pa_stream_set_write_callback(stream_, &PulsePlayback::OnWrite, this);
      pa_.pa_stream_set_underflow_callback(
          stream_,
          [](pa_stream*, void* user) {
            static_cast<PulsePlayback*>(user)->core_->NoteOutputUnderflow();
          },
          this);
      pa_.pa_stream_set_state_callback(
          stream_, [](pa_stream*, void* user) { static_cast<Connection*>(user)->Signal(); }, &c);
      // The server's buffer: the jitter buffer lives in the PlaybackCore (where the underruns
      // it absorbs are counted); the server's only has to cover this process's scheduling,
      // so half the jitter buffer, 20..100 ms.
      pa_buffer_attr attr;
      attr.maxlength = static_cast<uint32_t>(-1);
      const uint32_t target_frames = std::clamp<uint32_t>(
          options_.buffer_frames / 2, options_.format.sample_rate / 50,
          options_.format.sample_rate / 10);
      attr.tlength = target_frames * options_.format.BytesPerFrame();
      attr.prebuf = static_cast<uint32_t>(-1);
      attr.minreq = static_cast<uint32_t>(-1);
      attr.fragsize = static_cast<uint32_t>(-1);
      const auto flags = static_cast<pa_stream_flags_t>(
          PA_STREAM_ADJUST_LATENCY | PA_STREAM_AUTO_TIMING_UPDATE | PA_STREAM_INTERPOLATE_TIMING);
      if (pa_.pa_stream_connect_playback(stream_,
                                         options_.device.empty() ? nullptr : options_.device.c_str(),
                                         &attr, flags, nullptr, nullptr) < 0) {
        throw EngineError("EOS", "pa_stream_connect_playback failed: " + c.LastError());
      }
      pa_stream_state_t state;
      while ((state = pa_.pa_stream_get_state(stream_)) == PA_STREAM_CREATING) c.Wait();
      if (state != PA_STREAM_READY) {
        if (!options_.device.empty()) {
          throw EngineError("ENOAPP", "cannot play to output device \"" + options_.device + "\" (" +
                                          c.LastError() +
                                          "); list devices with `pactl list short sinks`");
        }
        throw EngineError("EOS", "the playback stream failed: " + c.LastError());
      }
    } catch (...) {
      Stop();  // the lock is released by now
      throw;
    }
  }

  void Stop() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (!connection_) return;
    connection_->Lock();
    if (stream_) {
      pa_.pa_stream_set_write_callback(stream_, nullptr, nullptr);
      pa_.pa_stream_set_underflow_callback(stream_, nullptr, nullptr);
      pa_.pa_stream_set_state_callback(stream_, nullptr, nullptr);
      if (pa_.pa_stream_get_state(stream_) != PA_STREAM_UNCONNECTED) pa_.pa_stream_disconnect(stream_);
      pa_.pa_stream_unref(stream_);
      stream_ = nullptr;
    }
    connection_->Unlock();
    connection_.reset();
  }

  int64_t OutputLatencyFrames() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (!connection_ || !stream_) return -1;
    connection_->Lock();
    pa_usec_t usec = 0;
    int negative = 0;
    const bool ok = pa_.pa_stream_get_latency(stream_, &usec, &negative) == 0;
    connection_->Unlock();
    if (!ok) return -1;
    const int64_t frames =
        static_cast<int64_t>(usec * static_cast<uint64_t>(options_.format.sample_rate) / 1000000);
    return negative ? -frames : frames;
  }

 private:
  // The real-time path: fill the server's buffer straight from the jitter buffer.
  static void OnWrite(pa_stream* stream, size_t nbytes, void* user) {
    auto* self = static_cast<PulsePlayback*>(user);
    const PulseApi& pa = self->pa_;
    const size_t frame = self->options_.format.BytesPerFrame();
    while (nbytes >= frame) {
      void* data = nullptr;
      size_t n = nbytes;
      if (pa.pa_stream_begin_write(stream, &data, &n) < 0 || !data) return;
      n -= n % frame;
      if (n == 0) return;
      self->core_->Pull(data, n / frame);
      pa.pa_stream_write(stream, data, n, nullptr, 0, PA_SEEK_RELATIVE);
      nbytes -= std::min(n, nbytes);
    }
  }

  const PulseApi& pa_;
  const PlaybackOptions options_;
  PlaybackCore* const core_;
  std::unique_ptr<Connection> connection_;
  std::mutex stop_mutex_;
  pa_stream* stream_ = nullptr;
};

// ---------------------------------------------------------------------------------------------

class PulseBackend : public Backend {
 public:
  const char* Name() const override { return "pulse"; }

  std::vector<AppInfo> ListApps() override {
    Connection c;
    std::vector<SinkInput> inputs;
    {
      LoopLock lock(c);
      RecoverStraySinks(c);
      inputs = c.SinkInputs();
    }
    std::map<int32_t, AppInfo> apps;
    std::map<int32_t, double> volume_sum;
    for (const SinkInput& input : inputs) {
      AppInfo& app = apps[input.pid];
      if (app.streams == 0) {
        app.pid = input.pid;
        app.name = input.name.empty() ? input.executable : input.name;
        app.executable = input.executable;
        app.muted = true;
      }
      ++app.streams;
      app.playing = app.playing || !input.corked;
      app.muted = app.muted && input.muted;
      volume_sum[input.pid] += input.volume;
    }
    std::vector<AppInfo> list;
    for (auto& [pid, app] : apps) {
      app.volume = volume_sum[pid] / app.streams;
      list.push_back(app);
    }
    return list;
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    auto capture = std::make_unique<PulseCapture>(options, core);
    capture->Start();
    return capture;
  }

  std::vector<DeviceInfo> ListDevices() override {
    Connection c;
    LoopLock lock(c);
    const std::string default_sink = c.Sink("").name;
    std::vector<DeviceInfo> devices;
    for (const Connection::SinkSummary& sink : c.Sinks()) {
      if (sink.owner_pid > 0) continue;  // a muted capture's private sink is no device
      DeviceInfo device;
      device.id = sink.name;
      device.name = sink.description;
      device.is_default = sink.name == default_sink;
      device.output_streams.push_back({0, sink.channels, static_cast<double>(sink.rate)});
      devices.push_back(std::move(device));
    }
    return devices;
  }


  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    auto playback = std::make_unique<PulsePlayback>(options, core);
    playback->Start();
    return playback;
  }

  void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                    std::optional<bool> mute) override {
    const PulseApi& pa = Pulse();
    Connection c;
    LoopLock lock(c);
    const std::vector<SinkInput> inputs = c.SinkInputs();
    const std::string lower = ToLower(app.name);
    std::set<int32_t> pids;
    for (const SinkInput& input : inputs) {
      if (app.pid > 0 ? input.pid == app.pid : SinkInputNamed(input, lower)) pids.insert(input.pid);
    }
    if (pids.empty()) {
      throw EngineError("ENOAPP", "no app with audio streams matches " +
                                      (app.pid > 0 ? "PID " + std::to_string(app.pid)
                                                   : "\"" + app.name + "\"") +
                                      ". Apps playing now: " + DescribeApps(inputs));
    }
    if (pids.size() > 1) {
      std::vector<SinkInput> matches;
      for (const SinkInput& input : inputs) {
        if (pids.count(input.pid)) matches.push_back(input);
      }
      throw EngineError("EAMBIGUOUS", "\"" + app.name + "\" matches several apps: " +
                                          DescribeApps(matches) + ". Choose one by PID.");
    }
    auto done = [](pa_context*, int, void* user) { static_cast<Connection*>(user)->Signal(); };
    for (const SinkInput& input : inputs) {
      if (!pids.count(input.pid)) continue;
      if (volume) {
        pa_cvolume cv;
        pa.pa_cvolume_set(&cv, input.channels, pa.pa_sw_volume_from_linear(*volume));
        c.Await(pa.pa_context_set_sink_input_volume(c.context(), input.index, &cv, done, &c),
                "setting the volume");
      }
      if (mute) {
        c.Await(pa.pa_context_set_sink_input_mute(c.context(), input.index, *mute ? 1 : 0,
                                                  done, &c),
                "setting mute");
      }
    }
  }
};

}  // namespace

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<PulseBackend>(); }

}  // namespace audiotap

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

  // With the lock held: the monitor source index of a sink by name ("" = the default sink).
  uint32_t MonitorOfSink(const std::string& sink_name, std::string* resolved_name) {
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
      name = ctx.name;
      if (name.empty()) {
        throw EngineError("ENOAPP", "the audio server has no default sink (no output device)");
      }
    }
    struct Ctx {
      Connection* self;
      uint32_t monitor;
    } ctx{this, PA_INVALID_INDEX};
    Await(pa_.pa_context_get_sink_info_by_name(
              context_, name.c_str(),
              [](pa_context*, const pa_sink_info* info, int eol, void* user) {
                auto* c = static_cast<Ctx*>(user);
                if (info) c->monitor = info->monitor_source;
                if (eol) c->self->Signal();
              },
              &ctx),
          "reading the sink info");
    if (ctx.monitor == PA_INVALID_INDEX) {
      throw EngineError("ENOAPP", "no output device (sink) named \"" + name +
                                      "\"; list them with `pactl list short sinks`");
    }
    if (resolved_name) *resolved_name = name;
    return ctx.monitor;
  }

 private:
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
// A running capture.

class PulseCapture : public CaptureSession {
 public:
  PulseCapture(const CaptureOptions& options, CaptureCore* core)
      : pa_(Pulse()), options_(options), core_(core) {}

  ~PulseCapture() override { Stop(); }

  // Worker thread. Throws EngineError; the destructor then releases what was opened.
  void Start() {
    connection_ = std::make_unique<Connection>();
    Connection& c = *connection_;
    c.Lock();
    try {
      StartLocked();
    } catch (...) {
      c.Unlock();
      throw;
    }
    c.Unlock();
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
    if (target.kind == TargetKind::kExistingTap) {
      throw EngineError("EUNSUPPORTED",
                        "attaching to an existing tap is a macOS feature; on Linux capture an "
                        "app or the system mix");
    }
    if (target.kind == TargetKind::kSystem && target.exclude.empty()) {
      // The whole mix of one sink: its monitor source.
      std::string sink_name;
      const uint32_t monitor = c.MonitorOfSink(options_.device, &sink_name);
      core_->MarkRecording();
      OpenMonitor(PA_INVALID_INDEX, monitor);
      return;
    }

    const std::vector<SinkInput> inputs = c.SinkInputs();
    if (target.kind == TargetKind::kApps) {
      ResolveApps(inputs);
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

  // Loop thread (or worker with the lock held).
  void OpenMonitorOfSinkInput(const SinkInput& input) {
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
    pa_sample_spec spec;
    spec.format = options_.format.encoding == SampleEncoding::kS16LE ? PA_SAMPLE_S16LE
                                                                      : PA_SAMPLE_FLOAT32LE;
    spec.rate = options_.format.sample_rate;
    spec.channels = static_cast<uint8_t>(options_.format.channels);
    pa_channel_map map;
    pa_.pa_channel_map_init_extend(&map, spec.channels, PA_CHANNEL_MAP_DEFAULT);

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
        (kind == PA_SUBSCRIPTION_EVENT_CHANGE && self->monitors_.count(index))) {
      self->Requery(index);  // a new sink-input to follow, or a monitored one (un)corked
    } else if (kind == PA_SUBSCRIPTION_EVENT_REMOVE) {
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
    if (self->dead_ticks_ > 0 && (self->monitors_.empty() || self->dead_ticks_ >= 4)) {
      self->core_->End(EndReason::kTargetExited, "", "the app exited");
      return;
    }
    self->pa_.pa_context_rttime_restart(self->connection_->context(), event,
                                        self->pa_.pa_rtclock_now() + 250000);
  }

  const PulseApi& pa_;
  const CaptureOptions options_;
  CaptureCore* const core_;
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
};

// ---------------------------------------------------------------------------------------------

class PulseBackend : public Backend {
 public:
  const char* Name() const override { return "pulse"; }

  std::vector<AppInfo> ListApps() override {
    Connection c;
    c.Lock();
    std::vector<SinkInput> inputs;
    try {
      inputs = c.SinkInputs();
    } catch (...) {
      c.Unlock();
      throw;
    }
    c.Unlock();
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

  void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                    std::optional<bool> mute) override {
    const PulseApi& pa = Pulse();
    Connection c;
    c.Lock();
    try {
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
    } catch (...) {
      c.Unlock();
      throw;
    }
    c.Unlock();
  }
};

}  // namespace

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<PulseBackend>(); }

}  // namespace audiotap

#include "backends/linux/connection.h"

#include <cstdlib>

namespace audiotap {
namespace pulse {

namespace {

// Collects one sink info (sink by name or index) and wakes the waiter.
struct SinkQuery {
  Connection* self;
  SinkSummary sink;
  static void OnInfo(pa_context*, const pa_sink_info* info, int eol, void* user) {
    auto* query = static_cast<SinkQuery*>(user);
    if (info) query->sink = SinkSummary::Of(info);
    if (eol) query->self->Signal();
  }
};

}  // namespace

SinkSummary SinkSummary::Of(const pa_sink_info* info) {
  SinkSummary sink;
  sink.index = info->index;
  sink.name = info->name;
  sink.description = info->description ? info->description : info->name;
  sink.monitor = info->monitor_source;
  sink.module = info->owner_module;
  sink.channels = info->sample_spec.channels;
  sink.rate = info->sample_spec.rate;
  const auto property = [&](const char* key) {
    const char* value = Pulse().pa_proplist_gets(info->proplist, key);
    return std::string(value ? value : "");
  };
  sink.owner = property(kOwnerProperty);
  sink.owner_pid = property(kOwnerPidProperty);
  sink.capture = property(kCaptureProperty);
  if (const char* restore = Pulse().pa_proplist_gets(info->proplist, kRestoreProperty)) {
    sink.restore = restore;
  }
  return sink;
}

Connection::Connection(const std::string& instance) : pa_(Pulse()) {
  loop_ = pa_.pa_threaded_mainloop_new();
  if (!loop_) throw EngineError("EOS", "pa_threaded_mainloop_new failed");
  pa_proplist* props = pa_.pa_proplist_new();
  pa_.pa_proplist_sets(props, PA_PROP_APPLICATION_NAME, "node-red-contrib-audio-tap");
  pa_.pa_proplist_sets(props, PA_PROP_APPLICATION_ID, kApplicationId);
  if (!instance.empty()) pa_.pa_proplist_sets(props, kInstanceProperty, instance.c_str());
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
  pa_context_state_t state = PA_CONTEXT_UNCONNECTED;
  std::string why;
  try {
    WaitUntil(
        [&] {
          state = pa_.pa_context_get_state(context_);
          return state == PA_CONTEXT_READY || !PA_CONTEXT_IS_GOOD(state);
        },
        "connecting");
    why = pa_.pa_strerror(pa_.pa_context_errno(context_));
  } catch (const EngineError& error) {
    why = error.what();
  }
  if (state == PA_CONTEXT_READY) ready_ = true;
  Unlock();
  if (!ready_) {
    Close();
    throw NoServer(why);
  }
}

void Connection::WaitUntil(const std::function<bool()>& done, const char* what) {
  if (done()) return;
  struct Deadline {
    Connection* self;
    bool expired = false;
  } deadline{this};
  pa_time_event* timer = pa_.pa_context_rttime_new(
      context_, pa_.pa_rtclock_now() + kServerDeadlineUsec,
      [](pa_mainloop_api*, pa_time_event*, const struct timeval*, void* user) {
        auto* d = static_cast<Deadline*>(user);
        d->expired = true;
        d->self->Signal();
      },
      &deadline);
  while (!done() && !deadline.expired) Wait();
  if (timer) pa_.pa_threaded_mainloop_get_api(loop_)->time_free(timer);
  if (!done()) {
    throw EngineError("ENOSERVER", std::string("the audio server did not answer within ") +
                                       std::to_string(kServerDeadlineUsec / PA_USEC_PER_SEC) +
                                       " s while " + what);
  }
}

void Connection::Pause(pa_usec_t usec) {
  struct Timer {
    Connection* self;
    bool fired = false;
  } timer{this};
  pa_time_event* event = pa_.pa_context_rttime_new(
      context_, pa_.pa_rtclock_now() + usec,
      [](pa_mainloop_api*, pa_time_event*, const struct timeval*, void* user) {
        auto* t = static_cast<Timer*>(user);
        t->fired = true;
        t->self->Signal();
      },
      &timer);
  if (!event) return;
  while (!timer.fired) Wait();
  pa_.pa_threaded_mainloop_get_api(loop_)->time_free(event);
}

void Connection::Await(pa_operation* op, const char* what) {
  if (!op) throw EngineError("EOS", std::string(what) + " failed: " + LastError());
  try {
    WaitUntil([&] { return pa_.pa_operation_get_state(op) != PA_OPERATION_RUNNING; }, what);
  } catch (const EngineError&) {
    pa_.pa_operation_cancel(op);
    pa_.pa_operation_unref(op);
    throw;
  }
  pa_.pa_operation_unref(op);
  if (!PA_CONTEXT_IS_GOOD(pa_.pa_context_get_state(context_))) {
    throw EngineError("ENOSERVER", std::string("the audio server closed the connection while ") +
                                       what + ": " + LastError());
  }
}

std::set<std::string> Connection::ClientInstances() {
  struct Ctx {
    Connection* self;
    std::set<std::string> tokens;
  } ctx{this, {}};
  Await(pa_.pa_context_get_client_info_list(
            context_,
            [](pa_context*, const pa_client_info* info, int eol, void* user) {
              auto* c = static_cast<Ctx*>(user);
              if (info && info->proplist) {
                if (const char* token = Pulse().pa_proplist_gets(info->proplist, kInstanceProperty)) {
                  c->tokens.insert(token);
                }
              }
              if (eol) c->self->Signal();
            },
            &ctx),
        "listing clients");
  return ctx.tokens;
}

std::vector<SinkInput> Connection::SinkInputs() {
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

std::vector<SinkSummary> Connection::Sinks() {
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

Connection::ServerNames Connection::ServerInfo() {
  struct Ctx {
    Connection* self;
    ServerNames names;
  } ctx{this, {}};
  Await(pa_.pa_context_get_server_info(
            context_,
            [](pa_context*, const pa_server_info* info, void* user) {
              auto* c = static_cast<Ctx*>(user);
              if (info && info->server_name) c->names.server = info->server_name;
              if (info && info->default_sink_name) c->names.default_sink = info->default_sink_name;
              c->self->Signal();
            },
            &ctx),
        "reading the server info");
  return ctx.names;
}

SinkSummary Connection::Sink(const std::string& sink_name) {
  const std::string name = sink_name.empty() ? ServerInfo().default_sink : sink_name;
  if (name.empty()) return {};
  SinkQuery query{this, {}};
  Await(pa_.pa_context_get_sink_info_by_name(context_, name.c_str(), &SinkQuery::OnInfo, &query),
        "reading the sink info");
  return query.sink;
}

SinkSummary Connection::Sink(uint32_t index) {
  SinkQuery query{this, {}};
  Await(pa_.pa_context_get_sink_info_by_index(context_, index, &SinkQuery::OnInfo, &query),
        "reading the sink info");
  return query.sink;
}

SinkSummary Connection::RequireSink(const std::string& sink_name) {
  const SinkSummary sink = Sink(sink_name);
  if (sink.index == PA_INVALID_INDEX) {
    throw EngineError("ENOAPP", sink_name.empty()
                                    ? "the audio server has no default sink (no output device)"
                                    : "no output device (sink) named \"" + sink_name +
                                          "\"; list them with `pactl list short sinks`");
  }
  return sink;
}

bool Connection::OnPipeWire() {
  if (on_pipewire_ < 0) {
    on_pipewire_ = ServerInfo().server.find("PipeWire") != std::string::npos ? 1 : 0;
  }
  return on_pipewire_ == 1;
}

Connection::SourceSummary Connection::RequireSource(const std::string& source_name) {
  struct Query {
    Connection* self;
    SourceSummary source;
  } query{this, {}};
  const std::string name = source_name.empty() ? "@DEFAULT_SOURCE@" : source_name;
  Await(pa_.pa_context_get_source_info_by_name(
            context_, name.c_str(),
            [](pa_context*, const pa_source_info* info, int eol, void* user) {
              auto* q = static_cast<Query*>(user);
              if (eol == 0 && info) {
                q->source.index = info->index;
                q->source.name = info->name;
                q->source.channels = info->sample_spec.channels;
              }
              if (eol != 0) q->self->Signal();
            },
            &query),
        "reading the source info");
  if (query.source.index == PA_INVALID_INDEX) {
    throw EngineError("ENOAPP", source_name.empty()
                                    ? "the audio server has no default source (no input device)"
                                    : "no input device (source) named \"" + source_name +
                                          "\"; list them with `pactl list short sources`");
  }
  return query.source;
}

void Connection::OnContextState(pa_context* context, void* user) {
  auto* self = static_cast<Connection*>(user);
  self->Signal();
  if (self->ready_ && !PA_CONTEXT_IS_GOOD(self->pa_.pa_context_get_state(context)) &&
      self->on_lost_) {
    self->on_lost_(self->LastError());
  }
}

EngineError Connection::NoServer(const std::string& why) {
  const char* server = getenv("PULSE_SERVER");
  const char* runtime = getenv("XDG_RUNTIME_DIR");
  return EngineError(
      "ENOSERVER",
      "no PulseAudio or PipeWire server reachable (" + why + "; PULSE_SERVER=" +
          (server ? server : "unset") + ", XDG_RUNTIME_DIR=" + (runtime ? runtime : "unset") +
          "). Start one (`pulseaudio --start`, or PipeWire with pipewire-pulse) or point "
          "PULSE_SERVER at it.");
}

void Connection::Close() {
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

void OperationDone(pa_context*, int, void* user) { static_cast<Connection*>(user)->Signal(); }

}  // namespace pulse
}  // namespace audiotap

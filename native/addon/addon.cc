// N-API glue: exposes the engine to JavaScript.
//
//   listApps(): Promise<App[]>   listDevices(): Promise<Device[]>   listTaps(): Promise<Tap[]>
//   setAppVolume(selector, volume|null, mute|null): Promise<void>
//   backend(): string
//   new Capture(options, onEvent)  .start(): Promise<void>  .stop()  .stats()
//   new Playback(options)          .start(): Promise<void>  .write(buf): frames  .drain()
//                                  .stop()  .stats()
//
// Events reach JavaScript through a bounded queue drained on the JS thread. The engine's drain
// thread pushes into it and wakes JS with a thread-safe function call only when no wake is
// already pending, so the thread-safe function's own queue never holds more than one call.
#include <napi.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/capture_core.h"
#include "addon/dsp_binding.h"
#include "core/engine.h"
#include "core/playback_core.h"

namespace audiotap {
namespace {

Backend& GetBackend() {
  // Backends are stateless between calls (each call opens its own OS connection), so one
  // instance serves every worker thread.
  static std::unique_ptr<Backend> backend = CreateBackend();
  return *backend;
}

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

// ---- Argument parsing (the TypeScript layer validates first; this is the last line) ----

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

AppSelector ParseSelector(Napi::Env env, Napi::Value value, const char* what) {
  AppSelector selector;
  if (value.IsNumber()) {
    selector.pid = value.As<Napi::Number>().Int32Value();
    if (selector.pid <= 0) ThrowType(env, std::string(what) + ": a PID must be a positive integer");
  } else if (value.IsString()) {
    selector.name = value.As<Napi::String>().Utf8Value();
    if (selector.name.empty()) ThrowType(env, std::string(what) + ": an app name must not be empty");
  } else {
    ThrowType(env, std::string(what) + ": expected a PID (number) or an app name (string)");
  }
  return selector;
}

std::vector<AppSelector> ParseSelectors(Napi::Env env, Napi::Value value, const char* what) {
  std::vector<AppSelector> selectors;
  if (value.IsUndefined() || value.IsNull()) return selectors;
  if (!value.IsArray()) ThrowType(env, std::string(what) + ": expected an array");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    selectors.push_back(ParseSelector(env, array.Get(i), what));
  }
  return selectors;
}

uint32_t ParseUint(Napi::Env env, Napi::Object object, const char* key, uint32_t fallback,
                   uint32_t min, uint32_t max) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) ThrowType(env, std::string(key) + ": expected a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max) || number != static_cast<uint32_t>(number)) {
    ThrowType(env, std::string(key) + ": expected an integer from " + std::to_string(min) +
                       " to " + std::to_string(max));
  }
  return static_cast<uint32_t>(number);
}

CaptureOptions ParseOptions(Napi::Env env, Napi::Object object) {
  CaptureOptions options;
  Napi::Value target_value = object.Get("target");
  if (!target_value.IsObject()) ThrowType(env, "target: expected an object");
  Napi::Object target = target_value.As<Napi::Object>();
  std::string kind = target.Get("kind").ToString().Utf8Value();
  if (kind == "apps") {
    options.target.kind = TargetKind::kApps;
    options.target.apps = ParseSelectors(env, target.Get("apps"), "target.apps");
    if (options.target.apps.empty()) ThrowType(env, "target.apps: name at least one app");
  } else if (kind == "system") {
    options.target.kind = TargetKind::kSystem;
    options.target.exclude = ParseSelectors(env, target.Get("exclude"), "target.exclude");
  } else if (kind == "tap") {
    options.target.kind = TargetKind::kExistingTap;
    options.target.tap_uid = target.Get("tapUid").ToString().Utf8Value();
  } else {
    ThrowType(env, "target.kind: expected \"apps\", \"system\" or \"tap\"");
  }
  options.format.sample_rate = ParseUint(env, object, "sampleRate", 48000, 8000, 192000);
  options.format.channels = ParseUint(env, object, "channels", 2, 1, 2);
  Napi::Value encoding = object.Get("encoding");
  if (!encoding.IsUndefined()) {
    std::string name = encoding.ToString().Utf8Value();
    if (name == "s16le") {
      options.format.encoding = SampleEncoding::kS16LE;
    } else if (name == "f32le") {
      options.format.encoding = SampleEncoding::kF32LE;
    } else {
      ThrowType(env, "encoding: expected \"s16le\" or \"f32le\"");
    }
  }
  options.chunk_frames = ParseUint(env, object, "chunkFrames", options.format.sample_rate / 50,
                                   16, options.format.sample_rate);
  options.queue_chunks = ParseUint(env, object, "queueChunks", 50, 1, 100000);
  Napi::Value mute = object.Get("mute");
  options.mute = mute.IsBoolean() && mute.As<Napi::Boolean>().Value();
  Napi::Value mute_mode = object.Get("muteMode");
  if (!mute_mode.IsUndefined()) {
    const std::string name = mute_mode.ToString().Utf8Value();
    if (name == "unmuted") {
      options.mute_mode = MuteMode::kUnmuted;
    } else if (name == "muted") {
      options.mute_mode = MuteMode::kMuted;
    } else if (name == "muted-when-tapped") {
      options.mute_mode = MuteMode::kMutedWhenTapped;
    } else {
      ThrowType(env, "muteMode: expected \"unmuted\", \"muted\" or \"muted-when-tapped\"");
    }
  }
  Napi::Value device_stream = object.Get("deviceStream");
  if (!device_stream.IsUndefined()) {
    if (!device_stream.IsNumber()) ThrowType(env, "deviceStream: expected a stream index");
    options.device_stream = device_stream.As<Napi::Number>().Int32Value();
    if (options.device_stream < -1) ThrowType(env, "deviceStream: expected -1 (all) or a stream index");
  }
  Napi::Value private_tap = object.Get("privateTap");
  if (private_tap.IsBoolean()) options.private_tap = private_tap.As<Napi::Boolean>().Value();
  Napi::Value device = object.Get("device");
  if (device.IsString()) options.device = device.As<Napi::String>().Utf8Value();
  return options;
}

// ---- Blocking engine calls, run on a worker thread ----

// Runs `work` on a worker thread and settles a promise: resolved with `result(env)` (called
// on the JS thread), or rejected with an Error whose `code` is the EngineError's. `settled`,
// if given, runs on the JS thread first, with whether `work` succeeded.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  using Settled = std::function<void(bool ok)>;

  static Napi::Promise Run(Napi::Env env, Work work, Result result, Settled settled = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(result), std::move(settled));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Result result, Settled settled)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        result_(std::move(result)),
        settled_(std::move(settled)) {}

  void Execute() override {
    try {
      work_();
    } catch (const EngineError& error) {
      code_ = error.code;
      SetError(error.what());
    } catch (const std::exception& error) {
      code_ = "EOS";
      SetError(error.what());
    }
  }
  void OnOK() override {
    if (settled_) settled_(true);
    deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined());
  }
  void OnError(const Napi::Error& error) override {
    if (settled_) settled_(false);
    deferred_.Reject(MakeError(Env(), code_, error.Message()).Value());
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Result result_;
  Settled settled_;
  std::string code_;
};

// Runs `work` on a worker thread, then `done` on the JS thread. For blocking engine calls
// whose result nobody awaits (stopping a capture): they must not run on the JS thread, where a
// slow or wedged audio server would freeze Node-RED. `work` must not throw.
class BackgroundTask : public Napi::AsyncWorker {
 public:
  static void Run(Napi::Env env, std::function<void()> work, std::function<void()> done) {
    (new BackgroundTask(env, std::move(work), std::move(done)))->Queue();
  }

 private:
  BackgroundTask(Napi::Env env, std::function<void()> work, std::function<void()> done)
      : Napi::AsyncWorker(env), work_(std::move(work)), done_(std::move(done)) {}
  void Execute() override { work_(); }
  void OnOK() override { done_(); }
  void OnError(const Napi::Error&) override { done_(); }

  std::function<void()> work_;
  std::function<void()> done_;
};

// ---- listApps / setAppVolume ----

Napi::Value ListApps(const Napi::CallbackInfo& info) {
  auto apps = std::make_shared<std::vector<AppInfo>>();
  return PromiseWorker::Run(
      info.Env(), [apps] { *apps = GetBackend().ListApps(); },
      [apps](Napi::Env env) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, apps->size());
        for (size_t i = 0; i < apps->size(); ++i) {
          const AppInfo& app = (*apps)[i];
          Napi::Object object = Napi::Object::New(env);
          object.Set("pid", app.pid);
          object.Set("name", app.name);
          object.Set("executable", app.executable);
          if (!app.bundle_id.empty()) object.Set("bundleId", app.bundle_id);
          object.Set("streams", app.streams);
          object.Set("playing", app.playing);
          object.Set("volume", app.volume);
          object.Set("muted", app.muted);
          array.Set(i, object);
        }
        return array;
      });
}

Napi::Value SetAppVolume(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AppSelector app = ParseSelector(env, info[0], "app");
  std::optional<double> volume;
  std::optional<bool> mute;
  if (info[1].IsNumber()) {
    volume = info[1].As<Napi::Number>().DoubleValue();
    if (!(*volume >= 0.0 && *volume <= 1.0)) ThrowType(env, "volume: expected 0..1");
  }
  if (info[2].IsBoolean()) mute = info[2].As<Napi::Boolean>().Value();
  return PromiseWorker::Run(env, [app, volume, mute] { GetBackend().SetAppVolume(app, volume, mute); },
                            nullptr);
}

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  auto devices = std::make_shared<std::vector<DeviceInfo>>();
  return PromiseWorker::Run(
      info.Env(), [devices] { *devices = GetBackend().ListDevices(); },
      [devices](Napi::Env env) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, devices->size());
        for (size_t i = 0; i < devices->size(); ++i) {
          const DeviceInfo& device = (*devices)[i];
          Napi::Object object = Napi::Object::New(env);
          object.Set("id", device.id);
          object.Set("name", device.name);
          object.Set("isDefault", device.is_default);
          Napi::Array streams = Napi::Array::New(env, device.output_streams.size());
          for (size_t k = 0; k < device.output_streams.size(); ++k) {
            Napi::Object stream = Napi::Object::New(env);
            stream.Set("index", device.output_streams[k].index);
            stream.Set("channels", device.output_streams[k].channels);
            stream.Set("sampleRate", device.output_streams[k].sample_rate);
            streams.Set(k, stream);
          }
          object.Set("outputStreams", streams);
          array.Set(i, object);
        }
        return array;
      });
}

Napi::Value ListTaps(const Napi::CallbackInfo& info) {
  auto taps = std::make_shared<std::vector<TapInfo>>();
  return PromiseWorker::Run(
      info.Env(), [taps] { *taps = GetBackend().ListTaps(); },
      [taps](Napi::Env env) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, taps->size());
        for (size_t i = 0; i < taps->size(); ++i) {
          Napi::Object object = Napi::Object::New(env);
          object.Set("uid", (*taps)[i].uid);
          object.Set("name", (*taps)[i].name);
          object.Set("channels", (*taps)[i].channels);
          object.Set("sampleRate", (*taps)[i].sample_rate);
          array.Set(i, object);
        }
        return array;
      });
}

Napi::Value BackendName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), GetBackend().Name());
}

// ---- Capture ----

struct Event {
  enum class Type { kState, kChunk, kWarning, kEnd } type = Type::kState;
  CaptureState state = CaptureState::kWaiting;
  std::vector<uint8_t> pcm;
  uint64_t position = 0;
  std::string text;  // warning text or end message
  EndReason reason = EndReason::kStopped;
  std::string code;
  CaptureStats stats;
};

class Capture : public Napi::ObjectWrap<Capture>, public EventSink {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Capture",
                       {InstanceMethod("start", &Capture::Start),
                        InstanceMethod("stop", &Capture::Stop),
                        InstanceMethod("stats", &Capture::GetStats)});
  }

  explicit Capture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Capture>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) ThrowType(env, "options: expected an object");
    if (!info[1].IsFunction()) ThrowType(env, "onEvent: expected a function");
    options_ = ParseOptions(env, info[0].As<Napi::Object>());
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    core_ = std::make_unique<CaptureCore>(options_, this);
    env_ = env;
    napi_add_env_cleanup_hook(env, &Capture::Teardown, this);
  }

  ~Capture() override {
    Teardown(this);
    napi_remove_env_cleanup_hook(env_, &Capture::Teardown, this);
  }

  // EventSink: drain thread (OnWarning: any backend thread).
  void OnState(CaptureState state) override {
    Event event;
    event.type = Event::Type::kState;
    event.state = state;
    Push(std::move(event), false);
  }
  bool OnChunk(std::vector<uint8_t>&& pcm, uint64_t position) override {
    Event event;
    event.type = Event::Type::kChunk;
    event.pcm = std::move(pcm);
    event.position = position;
    return Push(std::move(event), true);
  }
  void OnWarning(const std::string& message) override {
    Event event;
    event.type = Event::Type::kWarning;
    event.text = message;
    Push(std::move(event), false);
  }
  void OnEnd(EndReason reason, const std::string& code, const std::string& message,
             const CaptureStats& stats) override {
    Event event;
    event.type = Event::Type::kEnd;
    event.reason = reason;
    event.code = code;
    event.text = message;
    event.stats = stats;
    Push(std::move(event), false);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (started_) {
      throw MakeError(env, "ESTATE", "this capture was already started; create a new one");
    }
    started_ = true;
    starting_ = true;
    // Keep this object and the event loop alive until the end event has been delivered.
    Ref();
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "audiotap.capture", 0, 1);
    tsfn_live_ = true;
    return PromiseWorker::Run(
        env, [this] { session_ = GetBackend().StartCapture(options_, core_.get()); }, nullptr,
        [this](bool ok) {
          starting_ = false;
          if (!ok) {
            start_failed_ = true;
            MaybeReleaseJs();
            return;
          }
          core_->Start();
          // stop() came while starting: end now, through the normal end path.
          if (stop_requested_) StopInBackground();
        });
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (!started_ || stop_requested_) return info.Env().Undefined();
    stop_requested_ = true;
    if (starting_) return info.Env().Undefined();  // Start's completion finishes the stop.
    StopInBackground();
    return info.Env().Undefined();
  }

  // JS thread. Releases the OS resources on a worker thread (server round trips, each with a
  // deadline), then ends the core: the drain thread flushes what the sources hold and sends
  // the end event.
  void StopInBackground() {
    ++background_tasks_;
    CaptureSession* session = session_.get();
    CaptureCore* core = core_.get();
    BackgroundTask::Run(
        Env(),
        [session, core] {
          if (session) session->Stop();
          core->End(EndReason::kStopped);
        },
        [this] {
          --background_tasks_;
          MaybeReleaseJs();
        });
  }

  // Worker or teardown thread: waits for the drain thread; never two joins at once.
  void JoinCore() {
    std::lock_guard<std::mutex> lock(join_mutex_);
    core_->Join();
  }

  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CaptureStats stats = core_->Stats();
    Napi::Object object = Napi::Object::New(env);
    object.Set("frames", static_cast<double>(stats.frames));
    object.Set("chunks", static_cast<double>(stats.chunks));
    object.Set("droppedChunks", static_cast<double>(stats.dropped_chunks));
    object.Set("droppedFrames", static_cast<double>(stats.dropped_frames));
    object.Set("overrunFrames", static_cast<double>(stats.overrun_frames));
    object.Set("sources", stats.sources);
    return object;
  }

  // Returns false (and drops the event) only for chunks, when the queue holds queue_chunks.
  bool Push(Event&& event, bool droppable) {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      if (closed_) return false;
      if (droppable) {
        if (queued_chunks_ >= options_.queue_chunks) return false;
        ++queued_chunks_;
      }
      queue_.push_back(std::move(event));
    }
    if (!wake_pending_.exchange(true)) {
      std::lock_guard<std::mutex> lock(tsfn_mutex_);
      if (!tsfn_live_ ||
          tsfn_.NonBlockingCall(this, [](Napi::Env env, Napi::Function, Capture* self) {
            self->DeliverEvents(env);
          }) != napi_ok) {
        wake_pending_ = false;
      }
    }
    return true;
  }

  // JS thread.
  void DeliverEvents(Napi::Env env) {
    wake_pending_ = false;
    std::deque<Event> events;
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      events.swap(queue_);
      queued_chunks_ = 0;
    }
    Napi::HandleScope scope(env);
    for (Event& event : events) {
      if (callback_.IsEmpty() || ending_) return;
      switch (event.type) {
        case Event::Type::kState:
          Call(env, {Napi::String::New(env, "state"),
                     Napi::String::New(env, event.state == CaptureState::kWaiting ? "waiting"
                                                                                  : "recording")});
          break;
        case Event::Type::kChunk: {
          Napi::Buffer<uint8_t> buffer =
              Napi::Buffer<uint8_t>::Copy(env, event.pcm.data(), event.pcm.size());
          Call(env, {Napi::String::New(env, "chunk"), buffer,
                     Napi::Number::New(env, static_cast<double>(event.position))});
          break;
        }
        case Event::Type::kWarning:
          Call(env, {Napi::String::New(env, "warning"), Napi::String::New(env, event.text)});
          break;
        case Event::Type::kEnd: {
          // The engine is done: release the OS resources and the drain thread (off the JS
          // thread), then tell JavaScript. Nothing is delivered after the end.
          ending_ = true;
          ++background_tasks_;
          auto end = std::make_shared<Event>(std::move(event));
          CaptureSession* session = session_.get();
          BackgroundTask::Run(
              env,
              [this, session] {
                if (session) session->Stop();
                JoinCore();
              },
              [this, end] {
                Napi::Env env = Env();
                Napi::HandleScope scope(env);
                Napi::Object object = Napi::Object::New(env);
                object.Set("reason", EndReasonName(end->reason));
                if (!end->code.empty()) object.Set("code", end->code);
                if (!end->text.empty()) object.Set("message", end->text);
                object.Set("frames", static_cast<double>(end->stats.frames));
                object.Set("chunks", static_cast<double>(end->stats.chunks));
                object.Set("droppedChunks", static_cast<double>(end->stats.dropped_chunks));
                object.Set("droppedFrames", static_cast<double>(end->stats.dropped_frames));
                object.Set("overrunFrames", static_cast<double>(end->stats.overrun_frames));
                if (!callback_.IsEmpty()) Call(env, {Napi::String::New(env, "end"), object});
                end_delivered_ = true;
                --background_tasks_;
                MaybeReleaseJs();
              });
          return;
        }
      }
    }
  }

  void Call(Napi::Env env, const std::initializer_list<napi_value>& args) {
    try {
      callback_.Call(Value(), args);
    } catch (const Napi::Error& error) {
      // An exception thrown by a JS listener must not unwind into the engine; surface it as
      // an uncaught exception on the JS side, as an EventEmitter listener's would be.
      napi_fatal_exception(env, error.Value());
    }
  }

  // JS thread: once the end event was delivered (or start failed) and no background task
  // still uses this object, let it and the event loop go.
  void MaybeReleaseJs() {
    if (!(end_delivered_ || start_failed_) || background_tasks_ > 0) return;
    {
      std::lock_guard<std::mutex> lock(tsfn_mutex_);
      if (tsfn_live_) {
        tsfn_live_ = false;
        tsfn_.Release();
      }
    }
    if (started_ && !released_ref_) {
      released_ref_ = true;
      Unref();
    }
  }

  // Env teardown (process exit with a capture running) or destruction: stop the engine
  // without calling into JS.
  static void Teardown(void* arg) {
    auto* self = static_cast<Capture*>(arg);
    {
      std::lock_guard<std::mutex> lock(self->queue_mutex_);
      self->closed_ = true;
    }
    if (self->session_) self->session_->Stop();
    if (self->core_) self->JoinCore();
    std::lock_guard<std::mutex> lock(self->tsfn_mutex_);
    if (self->tsfn_live_) {
      self->tsfn_live_ = false;
      self->tsfn_.Abort();
    }
  }

  napi_env env_ = nullptr;
  CaptureOptions options_;
  Napi::FunctionReference callback_;
  std::unique_ptr<CaptureCore> core_;
  std::unique_ptr<CaptureSession> session_;
  Napi::ThreadSafeFunction tsfn_;
  std::mutex tsfn_mutex_;
  bool tsfn_live_ = false;

  std::mutex queue_mutex_;
  std::deque<Event> queue_;
  uint32_t queued_chunks_ = 0;
  bool closed_ = false;
  std::atomic<bool> wake_pending_{false};

  std::mutex join_mutex_;

  // JS thread.
  bool started_ = false;
  bool starting_ = false;
  bool start_failed_ = false;
  bool stop_requested_ = false;
  bool ending_ = false;         // the end event arrived: nothing more is delivered
  bool end_delivered_ = false;
  int background_tasks_ = 0;    // BackgroundTasks that still use this object
  bool released_ref_ = false;
};


// ---- Playback ----

class Playback : public Napi::ObjectWrap<Playback> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Playback",
                       {InstanceMethod("start", &Playback::Start),
                        InstanceMethod("write", &Playback::Write),
                        InstanceMethod("drain", &Playback::Drain),
                        InstanceMethod("stop", &Playback::Stop),
                        InstanceMethod("stats", &Playback::GetStats)});
  }

  explicit Playback(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Playback>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) ThrowType(env, "options: expected an object");
    Napi::Object object = info[0].As<Napi::Object>();
    options_.format.sample_rate = ParseUint(env, object, "sampleRate", 48000, 8000, 192000);
    options_.format.channels = ParseUint(env, object, "channels", 2, 1, 2);
    std::string encoding = object.Has("encoding") ? object.Get("encoding").ToString().Utf8Value() : "s16le";
    if (encoding == "s16le") {
      options_.format.encoding = SampleEncoding::kS16LE;
    } else if (encoding == "f32le") {
      options_.format.encoding = SampleEncoding::kF32LE;
    } else {
      ThrowType(env, "encoding: expected \"s16le\" or \"f32le\"");
    }
    options_.buffer_frames = ParseUint(env, object, "bufferFrames", options_.format.sample_rate / 10,
                                       1, options_.format.sample_rate * 10);
    options_.capacity_frames = ParseUint(env, object, "capacityFrames", 4 * options_.buffer_frames,
                                         options_.buffer_frames, options_.format.sample_rate * 60);
    Napi::Value device = object.Get("device");
    if (device.IsString()) options_.device = device.As<Napi::String>().Utf8Value();
    core_ = std::make_unique<PlaybackCore>(options_);
    env_ = env;
    napi_add_env_cleanup_hook(env, &Playback::Teardown, this);
  }

  ~Playback() override {
    Teardown(this);
    napi_remove_env_cleanup_hook(env_, &Playback::Teardown, this);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (started_) throw MakeError(info.Env(), "ESTATE", "this playback was already started; create a new one");
    started_ = true;
    Ref();  // alive until the worker is done
    auto session = std::make_shared<std::unique_ptr<PlaybackSession>>();
    return PromiseWorker::Run(
        info.Env(), [this, session] { *session = GetBackend().StartPlayback(options_, core_.get()); },
        nullptr, [this, session](bool ok) {
          if (ok && stopped_) {
            (*session)->Stop();
          } else if (ok) {
            session_ = std::move(*session);
          }
          Unref();
        });
  }

  // Queues interleaved frames; returns how many were accepted (the rest are counted as
  // overrun frames).
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsBuffer()) ThrowType(env, "data: expected a Buffer of interleaved PCM");
    Napi::Buffer<uint8_t> data = info[0].As<Napi::Buffer<uint8_t>>();
    const uint32_t frame = options_.format.BytesPerFrame();
    if (data.Length() % frame != 0) {
      throw Napi::RangeError::New(env, "data: " + std::to_string(data.Length()) +
                                           " bytes is not a whole number of " +
                                           std::to_string(frame) + "-byte frames");
    }
    if (stopped_) return Napi::Number::New(env, 0);
    return Napi::Number::New(env, static_cast<double>(core_->Push(data.Data(), data.Length() / frame)));
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    core_->Drain();
    return info.Env().Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    stopped_ = true;
    if (session_) session_->Stop();
    return info.Env().Undefined();
  }

  Napi::Value GetStats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const PlaybackStats stats = core_->Stats();
    Napi::Object object = Napi::Object::New(env);
    object.Set("playedFrames", static_cast<double>(stats.played_frames));
    object.Set("underruns", static_cast<double>(stats.underruns));
    object.Set("overrunFrames", static_cast<double>(stats.overrun_frames));
    object.Set("bufferedFrames", static_cast<double>(stats.buffered_frames));
    object.Set("outputLatencyFrames",
               static_cast<double>(session_ && !stopped_ ? session_->OutputLatencyFrames() : -1));
    return object;
  }

  static void Teardown(void* arg) {
    auto* self = static_cast<Playback*>(arg);
    self->stopped_ = true;
    if (self->session_) self->session_->Stop();
  }

  napi_env env_ = nullptr;
  PlaybackOptions options_;
  std::unique_ptr<PlaybackCore> core_;
  std::unique_ptr<PlaybackSession> session_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("listApps", Napi::Function::New(env, ListApps, "listApps"));
  exports.Set("setAppVolume", Napi::Function::New(env, SetAppVolume, "setAppVolume"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("listTaps", Napi::Function::New(env, ListTaps, "listTaps"));
  exports.Set("backend", Napi::Function::New(env, BackendName, "backend"));
  exports.Set("Capture", Capture::Define(env));
  exports.Set("Playback", Playback::Define(env));
  InitDsp(env, exports);
  return exports;
}

}  // namespace audiotap

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return audiotap::InitAddon(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)

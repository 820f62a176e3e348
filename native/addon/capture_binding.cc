#include "addon/capture_binding.h"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "addon/arguments.h"
#include "addon/workers.h"
#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace {

struct Event {
  enum class Type { kState, kChunk, kWarning, kTarget, kServer, kSilence, kEnd } type = Type::kState;
  CaptureState state = CaptureState::kWaiting;
  std::vector<uint8_t> pcm;
  uint64_t position = 0;
  std::string text;  // warning text, end message, or why the capture is silent
  EndReason reason = EndReason::kStopped;
  std::string code;  // warning or end code, or the silence's reason; "" for none
  bool silent = false;  // kSilence: silent (true) or audible again
  int track = -1;       // kTarget: the track whose target it is (multitrack), else -1
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
    options_ = ParseCaptureOptions(env, info[0].As<Napi::Object>());
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    core_ = std::make_unique<CaptureCore>(options_, this);
    env_ = env;
    napi_add_env_cleanup_hook(env, &Capture::Teardown, this);
  }

  ~Capture() override {
    Teardown(this);
    napi_remove_env_cleanup_hook(env_, &Capture::Teardown, this);
  }

  // EventSink: drain thread (OnWarning, OnTarget, OnServer, OnSilence: any backend thread).
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
  void OnWarning(const std::string& code, const std::string& message) override {
    Event event;
    event.type = Event::Type::kWarning;
    event.code = code;
    event.text = message;
    Push(std::move(event), false);
  }
  void OnTarget(bool back, uint64_t position, int track) override {
    PushPresence(Event::Type::kTarget, back, position, track);
  }
  void OnServer(bool back, uint64_t position) override {
    PushPresence(Event::Type::kServer, back, position);
  }
  void OnSilence(bool silent, const std::string& reason, const std::string& message,
                 uint64_t position) override {
    Event event;
    event.type = Event::Type::kSilence;
    event.silent = silent;
    event.code = reason;
    event.text = message;
    event.position = position;
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
  // A target or the server went ("gone") or came back ("back") at `position`.
  void PushPresence(Event::Type type, bool back, uint64_t position, int track = -1) {
    Event event;
    event.type = type;
    event.text = back ? "back" : "gone";
    event.position = position;
    event.track = track;
    Push(std::move(event), false);
  }

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
          Call(env, {Napi::String::New(env, "warning"), Napi::String::New(env, event.text),
                     Napi::String::New(env, event.code)});
          break;
        case Event::Type::kTarget:
        case Event::Type::kServer:
          Call(env, {Napi::String::New(env, event.type == Event::Type::kTarget ? "target" : "server"),
                     Napi::String::New(env, event.text),
                     Napi::Number::New(env, static_cast<double>(event.position)),
                     event.track >= 0 ? Napi::Number::New(env, event.track) : env.Undefined()});
          break;
        case Event::Type::kSilence:
          Call(env, {Napi::String::New(env, "silence"),
                     Napi::String::New(env, event.silent ? "silent" : "audible"),
                     Napi::Number::New(env, static_cast<double>(event.position)),
                     Napi::String::New(env, event.code), Napi::String::New(env, event.text)});
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

}  // namespace

void InitCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("Capture", Capture::Define(env));
}

}  // namespace audiotap

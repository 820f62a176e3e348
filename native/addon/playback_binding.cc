#include "addon/playback_binding.h"

#include <memory>
#include <string>

#include "addon/arguments.h"
#include "addon/workers.h"
#include "core/engine.h"
#include "core/playback_core.h"

namespace audiotap {
namespace {

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
    options_ = ParsePlaybackOptions(env, info[0].As<Napi::Object>());
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

void InitPlayback(Napi::Env env, Napi::Object exports) {
  exports.Set("Playback", Playback::Define(env));
}

}  // namespace audiotap

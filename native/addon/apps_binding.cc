#include "addon/apps_binding.h"

#include <memory>
#include <optional>
#include <vector>

#include "addon/arguments.h"
#include "addon/workers.h"
#include "core/engine.h"

namespace audiotap {
namespace {

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

}  // namespace

void InitApps(Napi::Env env, Napi::Object exports) {
  exports.Set("listApps", Napi::Function::New(env, ListApps, "listApps"));
  exports.Set("setAppVolume", Napi::Function::New(env, SetAppVolume, "setAppVolume"));
  exports.Set("listDevices", Napi::Function::New(env, ListDevices, "listDevices"));
  exports.Set("listTaps", Napi::Function::New(env, ListTaps, "listTaps"));
  exports.Set("backend", Napi::Function::New(env, BackendName, "backend"));
}

}  // namespace audiotap

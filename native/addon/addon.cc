// N-API glue: exposes the engine to JavaScript.
//
//   listApps(): Promise<App[]>   listDevices(): Promise<Device[]>   listTaps(): Promise<Tap[]>
//   setAppVolume(selector, volume|null, mute|null): Promise<void>
//   backend(): string
//   new Capture(options, onEvent)  .start(): Promise<void>  .stop()  .stats()
//   new Playback(options)          .start(): Promise<void>  .write(buf): frames  .drain()
//                                  .stop()  .stats()
//
// One file a group of exports: apps_binding (the system), capture_binding, playback_binding,
// dsp_binding; arguments (parsing) and workers (blocking calls off the JS thread) serve them.
#include <napi.h>

#include "addon/apps_binding.h"
#include "addon/capture_binding.h"
#include "addon/dsp_binding.h"
#include "addon/playback_binding.h"

namespace audiotap {

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  InitApps(env, exports);
  InitCapture(env, exports);
  InitPlayback(env, exports);
  InitDsp(env, exports);
  return exports;
}

}  // namespace audiotap

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  return audiotap::InitAddon(env, exports);
}

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)

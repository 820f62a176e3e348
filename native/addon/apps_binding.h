// listApps, setAppVolume, listDevices, listTaps and backend: what the addon says about the
// system, each a promise settled from a worker thread.
#pragma once

#include <napi.h>

namespace audiotap {

// Adds listApps, setAppVolume, listDevices, listTaps and backend to the addon's exports.
void InitApps(Napi::Env env, Napi::Object exports);

}  // namespace audiotap

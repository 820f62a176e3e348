// Argument parsing of the addon's exports: the TypeScript layer (src/) checks every argument
// first and throws TypeErrors that name it; this is the last line, and throws the same way.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine.h"

namespace audiotap {

// Throws a JavaScript TypeError with `message`.
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);

// A PID (positive number) or an app name (non-empty string); `what` names the argument.
AppSelector ParseSelector(Napi::Env env, Napi::Value value, const char* what);
// An array of selectors; undefined or null is none.
std::vector<AppSelector> ParseSelectors(Napi::Env env, Napi::Value value, const char* what);
// object[key]: an integer in min..max, or `fallback` when undefined.
uint32_t ParseUint(Napi::Env env, Napi::Object object, const char* key, uint32_t fallback,
                   uint32_t min, uint32_t max);
// {sampleRate (Hz, default 48000), channels (1, 2; default 2), encoding ("s16le" default, "f32le")}.
Format ParseFormat(Napi::Env env, Napi::Object object);
// new Capture(options): target, the format, chunkFrames, queueChunks, mute, muteMode, device,
// deviceStream, privateTap.
CaptureOptions ParseCaptureOptions(Napi::Env env, Napi::Object object);
// new Playback(options): the format, bufferFrames, capacityFrames, device.
PlaybackOptions ParsePlaybackOptions(Napi::Env env, Napi::Object object);

}  // namespace audiotap

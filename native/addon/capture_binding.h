// new Capture(options, onEvent): a capture whose events (state, chunk, warning, end) reach
// JavaScript through a bounded queue drained on the JS thread. The engine's drain thread
// pushes into it and wakes JS with a thread-safe function call only when no wake is already
// pending, so the thread-safe function's own queue never holds more than one call; chunks
// past queueChunks are refused, and the capture core counts them dropped.
#pragma once

#include <napi.h>

namespace audiotap {

// Adds the Capture class to the addon's exports.
void InitCapture(Napi::Env env, Napi::Object exports);

}  // namespace audiotap

// new Playback(options): audio-out's stream. write() queues interleaved frames into the
// PlaybackCore's ring (what does not fit is counted as overrun frames); the backend's render
// callback pulls from it.
#pragma once

#include <napi.h>

namespace audiotap {

// Adds the Playback class to the addon's exports.
void InitPlayback(Napi::Env env, Napi::Object exports);

}  // namespace audiotap

// Playback on WASAPI (audio-out): a shared-mode render stream on one endpoint.
#pragma once

#include <memory>

#include "core/engine.h"
#include "core/playback_core.h"

namespace audiotap {
namespace win {

// Opens and starts a render stream on `options.device` (the default endpoint for ""), fed
// from `core` by its own render thread (worker thread). Throws EngineError: EFORMAT, ENOAPP
// (no such output device), EAMBIGUOUS, EOS.
std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core);

}  // namespace win
}  // namespace audiotap

// Playback on the pulse server.
#pragma once

#include <memory>

#include "core/engine.h"
#include "core/playback_core.h"

namespace audiotap {
namespace pulse {

// Opens a playback stream to `options.device` ("" = the default sink) pulling from `core`.
// Throws EngineError: ENOSERVER, ENOLIB, ENOAPP (no such device), EOS.
std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core);

}  // namespace pulse
}  // namespace audiotap

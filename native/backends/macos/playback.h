// Playback (audio-out) through a HAL output unit (AUHAL) on one output device (macOS 13+).
#pragma once

#include <memory>

#include "core/engine.h"
#include "core/playback_core.h"

namespace audiotap {
namespace mac {

// Opens and starts the output unit on `options.device` (the default output for ""), fed from
// `core` by the device's IO thread. Throws EngineError: EFORMAT, ENOAPP (no such device),
// EAMBIGUOUS, EOS.
std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core);

}  // namespace mac
}  // namespace audiotap

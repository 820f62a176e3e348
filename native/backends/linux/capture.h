// Capture on the pulse server (PulseAudio, or PipeWire's pipewire-pulse).
#pragma once

#include <memory>

#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace pulse {

// Opens a capture of `options.target` feeding `core` (worker thread). Throws EngineError:
// ENOSERVER, ENOLIB, ENOAPP, EAMBIGUOUS, EBUSY (the app is muted by another capture),
// EUNSUPPORTED (mute of the system mix, an existing tap).
std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core);

}  // namespace pulse
}  // namespace audiotap

// Capture on WASAPI: process loopback for apps and the system mix minus apps, endpoint
// loopback for the whole system mix, a capture endpoint for an input device; a multitrack
// capture is one of these per track.
#pragma once

#include <memory>

#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace win {

// Opens a capture of `options.target` feeding `core`, or of `options.track_targets`, one per
// track (core/track_set.h), each packet placed on the timeline by its QPC stamp (worker
// thread). Targets: apps (process loopback), the system mix (an output device's loopback) or
// minus apps, an input device (a capture endpoint). Throws EngineError: EFORMAT, ENOAPP,
// EAMBIGUOUS, EUNSUPPORTED (mute, a macOS tap, a device with process loopback, a Windows
// without process loopback), ENOSERVER, EOS.
std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core);

}  // namespace win
}  // namespace audiotap

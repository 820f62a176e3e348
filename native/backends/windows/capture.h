// Capture on WASAPI: process loopback for apps and the system mix minus apps, endpoint
// loopback for the whole system mix.
#pragma once

#include <memory>

#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace win {

// Opens a capture of `options.target` feeding `core` (worker thread). Throws EngineError:
// EFORMAT, ENOAPP, EAMBIGUOUS, EUNSUPPORTED (mute, a macOS tap, a device with process
// loopback, a Windows without process loopback), ENOSERVER, EOS.
std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core);

}  // namespace win
}  // namespace audiotap

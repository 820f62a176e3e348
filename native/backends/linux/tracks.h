// A multitrack capture on the pulse server: one capture per track (an app, a sink's mix, an
// input device), each on its own connection, all feeding one core whose frames hold the
// tracks side by side (core/capture_core.h, Tracks). Streams are placed on the shared
// timeline by when their blocks were rendered (capture_monitors.cc's OnRead stamps them), so a sound
// that reaches several tracks lands on the same frame in each.
#pragma once

#include <memory>

#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace pulse {

// Worker thread. Opens every track of `options.track_targets` (kApp, kSystem, kInput), or
// none: throws what the first failing track throws (EngineError), and EUNSUPPORTED for mute.
std::unique_ptr<CaptureSession> StartTracks(const CaptureOptions& options, CaptureCore* core);

}  // namespace pulse
}  // namespace audiotap

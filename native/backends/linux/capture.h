// Capture on the pulse server (PulseAudio, or PipeWire's pipewire-pulse).
#pragma once

#include <memory>

#include "core/capture_core.h"
#include "core/engine.h"
#include "core/track_set.h"

namespace audiotap {
namespace pulse {

// Opens a capture of `options.target` feeding `core`, or of `options.track_targets`, one per
// track, each on a connection of its own (core/track_set.h; worker thread). Throws
// EngineError: ENOSERVER, ENOLIB, ENOAPP (no such app, sink or source), EAMBIGUOUS, EBUSY (the
// app is muted by another capture), EUNSUPPORTED (mute of the system mix, an input or tracks;
// an existing tap).
std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options, CaptureCore* core);

// One target's capture feeding `core`'s track `track`; with `host`, one track of a multitrack
// capture (`options.target` is the track's). Throws as StartCapture.
std::unique_ptr<CaptureSession> StartTrack(const CaptureOptions& options, CaptureCore* core,
                                           uint32_t track, TrackHost* host);

}  // namespace pulse
}  // namespace audiotap

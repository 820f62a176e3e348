// Process taps (macOS 14.2+): creating one from a TapPlan, changing its processes, and
// destroying it. Worker and control threads only.
#pragma once

#include <CoreAudio/AudioHardware.h>

#include <cstdint>
#include <vector>

#include "backends/macos/tap_logic.h"

namespace audiotap {
namespace mac {

// The tap's name, as Audio MIDI Setup and listTaps() show it.
constexpr const char* kTapName = "node-red-contrib-audio-tap";

// Creates a tap as `plan` says. Throws EngineError: EUNSUPPORTED (no CATapDescription),
// EPERMISSION, EOS.
API_AVAILABLE(macos(14.2))
AudioObjectID CreateProcessTap(const TapPlan& plan);

API_AVAILABLE(macos(14.2))
void DestroyProcessTap(AudioObjectID tap);

// Replaces the processes of a tap this process created (kAudioTapPropertyDescription is
// settable), so a process that starts playing later joins the running capture. Throws
// EngineError.
API_AVAILABLE(macos(14.2))
void SetTapProcesses(AudioObjectID tap, const std::vector<uint32_t>& objects);

}  // namespace mac
}  // namespace audiotap

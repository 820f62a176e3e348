// Output devices and taps: listing them, and finding the one a playback names.
#pragma once

#include <CoreAudio/AudioHardware.h>

#include <string>
#include <vector>

#include "backends/macos/tap_logic.h"
#include "core/engine.h"

namespace audiotap {
namespace mac {

// The UID prefix of this backend's own aggregate devices, which no listing shows.
constexpr const char* kAggregateUidPrefix = "org.nodered.audio-tap.aggregate.";

// Every device with a UID, except this backend's own aggregate devices, and whether it has
// output streams.
std::vector<OutputDeviceEntry> ListOutputDeviceEntries();

// The default output device for "", else the device `device` names (ResolveOutputDevice).
// Throws EngineError: ENOAPP naming the devices there are, EAMBIGUOUS.
AudioObjectID ResolvePlaybackDevice(const std::string& device);

// The output devices (not this backend's aggregates) and their output streams.
std::vector<DeviceInfo> ListDevices();

// Every visible process tap (macOS 14.2+).
std::vector<TapInfo> ListTaps();

}  // namespace mac
}  // namespace audiotap

// Devices and taps: listing them, and finding the output device a playback names or the input
// device a capture names.
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
// output and input streams.
std::vector<DeviceEntry> ListDeviceEntries();

// The default output device for "", else the device `device` names (ResolveOutputDevice).
// Throws EngineError: ENOAPP naming the devices there are, EAMBIGUOUS.
AudioObjectID ResolvePlaybackDevice(const std::string& device);

// The default input device for "", else the input device `device` names (UID, or name ignoring
// case: audiotap::ResolveInputDevice). Throws EngineError: ENOAPP naming the input devices
// there are, EAMBIGUOUS.
AudioObjectID ResolveInputDevice(const std::string& device);

// The output devices (not this backend's aggregates) and their output streams.
std::vector<DeviceInfo> ListDevices();

// Every visible process tap (macOS 14.2+).
std::vector<TapInfo> ListTaps();

}  // namespace mac
}  // namespace audiotap

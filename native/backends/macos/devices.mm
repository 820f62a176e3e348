#include "backends/macos/devices.h"

#include "backends/macos/properties.h"

namespace audiotap {
namespace mac {

namespace {

bool HasStreams(AudioObjectID device, AudioObjectPropertyScope scope) {
  const AudioObjectPropertyAddress streams = Address(kAudioDevicePropertyStreams, scope);
  UInt32 size = 0;
  return AudioObjectGetPropertyDataSize(device, &streams, 0, nullptr, &size) == noErr &&
         size >= sizeof(AudioStreamID);
}

}  // namespace

std::vector<DeviceEntry> ListDeviceEntries() {
  const auto devices = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyDevices),
      "kAudioHardwarePropertyDevices");
  std::vector<DeviceEntry> entries;
  for (AudioObjectID device : devices) {
    DeviceEntry entry;
    entry.object_id = device;
    entry.uid = TryGetString(device, Address(kAudioDevicePropertyDeviceUID));
    if (entry.uid.empty() || entry.uid.rfind(kAggregateUidPrefix, 0) == 0) continue;
    entry.name = TryGetString(device, Address(kAudioObjectPropertyName));
    entry.has_output = HasStreams(device, kAudioObjectPropertyScopeOutput);
    entry.has_input = HasStreams(device, kAudioObjectPropertyScopeInput);
    entries.push_back(std::move(entry));
  }
  return entries;
}

AudioObjectID ResolvePlaybackDevice(const std::string& device) {
  if (device.empty()) {
    const auto id = Get<AudioObjectID>(kAudioObjectSystemObject,
                                       Address(kAudioHardwarePropertyDefaultOutputDevice),
                                       "kAudioHardwarePropertyDefaultOutputDevice");
    if (id == kAudioObjectUnknown) {
      throw EngineError("ENOAPP", "there is no default output device; connect one or choose "
                                  "one in System Settings > Sound > Output");
    }
    return id;
  }
  const std::vector<DeviceEntry> entries = ListDeviceEntries();
  return entries[ResolveOutputDevice(device, entries)].object_id;
}

AudioObjectID ResolveInputDevice(const std::string& device) {
  if (device.empty()) {
    const auto id = Get<AudioObjectID>(kAudioObjectSystemObject,
                                       Address(kAudioHardwarePropertyDefaultInputDevice),
                                       "kAudioHardwarePropertyDefaultInputDevice");
    if (id == kAudioObjectUnknown) {
      throw EngineError("ENOAPP", "there is no default input device; connect one or choose "
                                  "one in System Settings > Sound > Input");
    }
    return id;
  }
  const std::vector<DeviceEntry> entries = ListDeviceEntries();
  return entries[audiotap::ResolveInputDevice(device, entries)].object_id;
}

std::vector<DeviceInfo> ListDevices() {
  const auto devices = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyDevices),
      "kAudioHardwarePropertyDevices");
  AudioObjectID default_output = kAudioObjectUnknown;
  TryGet(kAudioObjectSystemObject, Address(kAudioHardwarePropertyDefaultOutputDevice),
         &default_output);
  std::vector<DeviceInfo> result;
  for (AudioObjectID device : devices) {
    std::vector<AudioStreamID> streams;
    try {
      streams = GetArray<AudioStreamID>(
          device, Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput),
          "kAudioDevicePropertyStreams");
    } catch (const EngineError&) {
      continue;  // unplugged while listing
    }
    if (streams.empty()) continue;
    DeviceInfo info;
    info.id = TryGetString(device, Address(kAudioDevicePropertyDeviceUID));
    if (info.id.empty() || info.id.rfind(kAggregateUidPrefix, 0) == 0) continue;
    info.name = TryGetString(device, Address(kAudioObjectPropertyName));
    info.is_default = device == default_output;
    for (size_t i = 0; i < streams.size(); ++i) {
      AudioStreamBasicDescription format{};
      StreamInfo stream;
      stream.index = static_cast<int32_t>(i);
      if (TryGet(streams[i], Address(kAudioStreamPropertyVirtualFormat), &format) == noErr) {
        stream.channels = format.mChannelsPerFrame;
        stream.sample_rate = format.mSampleRate;
      }
      info.output_streams.push_back(stream);
    }
    result.push_back(std::move(info));
  }
  return result;
}

std::vector<TapInfo> ListTaps() {
  std::vector<TapInfo> result;
  const auto taps = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyTapList),
      "kAudioHardwarePropertyTapList");
  for (AudioObjectID tap : taps) {
    TapInfo info;
    info.uid = TryGetString(tap, Address(kAudioTapPropertyUID));
    if (info.uid.empty()) continue;
    info.name = TryGetString(tap, Address(kAudioObjectPropertyName));
    AudioStreamBasicDescription format{};
    if (TryGet(tap, Address(kAudioTapPropertyFormat), &format) == noErr) {
      info.channels = format.mChannelsPerFrame;
      info.sample_rate = format.mSampleRate;
    }
    result.push_back(std::move(info));
  }
  return result;
}

}  // namespace mac
}  // namespace audiotap

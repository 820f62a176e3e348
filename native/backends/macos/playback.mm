#include "backends/macos/playback.h"

#include <AudioToolbox/AUComponent.h>
#include <AudioToolbox/AudioComponent.h>
#include <AudioToolbox/AudioOutputUnit.h>
#include <AudioToolbox/AudioUnitProperties.h>
#include <CoreAudio/AudioHardware.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "backends/macos/devices.h"
#include "backends/macos/properties.h"
#include "backends/macos/tap_logic.h"

namespace audiotap {
namespace mac {

namespace {

// One playback: a HAL output unit (AUHAL) on one output device. Start() opens it; Stop()
// (also from the destructor, so a failed Start() leaves nothing behind) disposes of it.
// Start and Stop run on the addon's worker or JS thread; Render on the device's IO thread.
class HalPlayback final : public PlaybackSession {
 public:
  HalPlayback(const PlaybackOptions& options, PlaybackCore* core)
      : options_(options), core_(core), bytes_per_frame_(options.format.BytesPerFrame()) {}
  ~HalPlayback() override { Stop(); }
  HalPlayback(const HalPlayback&) = delete;
  HalPlayback& operator=(const HalPlayback&) = delete;

  void Start();
  void Stop() override;
  int64_t OutputLatencyFrames() override;

 private:
  static OSStatus Render(void* client, AudioUnitRenderActionFlags* flags,
                         const AudioTimeStamp* time, UInt32 bus, UInt32 frame_count,
                         AudioBufferList* data);
  void SetUnitProperty(AudioUnitPropertyID property, AudioUnitScope scope,
                       AudioUnitElement element, const void* value, UInt32 size,
                       const char* what);
  void MapMonoToFirstPair();
  int64_t MeasureLatency() const;

  const PlaybackOptions options_;
  PlaybackCore* const core_;
  const uint32_t bytes_per_frame_;

  std::mutex stop_mutex_;
  AudioObjectID device_ = kAudioObjectUnknown;
  AudioComponentInstance unit_ = nullptr;
  bool initialized_ = false;
  bool started_ = false;
  // Measured once the unit runs; OutputLatencyFrames() (the host's stats, JS thread) then
  // makes only one HAL call: is the device still alive.
  int64_t latency_frames_ = -1;
};

void HalPlayback::SetUnitProperty(AudioUnitPropertyID property, AudioUnitScope scope,
                                  AudioUnitElement element, const void* value, UInt32 size,
                                  const char* what) {
  Check(AudioUnitSetProperty(unit_, property, scope, element, value, size),
        std::string("AudioUnitSetProperty(") + what + ")");
}

// The unit converts through an AudioConverter, whose default routing (kAudioConverterChannelMap
// in AudioConverter.h) sends a mono input to the first output channel only and zeroes the
// rest: a mono playback would be heard on the left speaker alone. The unit's channel map, one
// entry per device channel, feeds the device's channels 1 and 2 from the one input channel.
void HalPlayback::MapMonoToFirstPair() {
  AudioStreamBasicDescription device_format{};
  UInt32 size = sizeof(device_format);
  Check(AudioUnitGetProperty(unit_, kAudioUnitProperty_StreamFormat, kAudioUnitScope_Output, 0,
                             &device_format, &size),
        "AudioUnitGetProperty(kAudioUnitProperty_StreamFormat, output scope)");
  if (device_format.mChannelsPerFrame < 2) return;
  std::vector<SInt32> map(device_format.mChannelsPerFrame, -1);
  map[0] = 0;
  map[1] = 0;
  try {
    SetUnitProperty(kAudioOutputUnitProperty_ChannelMap, kAudioUnitScope_Output, 0, map.data(),
                    static_cast<UInt32>(map.size() * sizeof(SInt32)),
                    "kAudioOutputUnitProperty_ChannelMap");
  } catch (const EngineError& error) {
    throw EngineError(error.code, std::string("a mono playback could not be sent to both "
                                              "channels of the device (send stereo instead): ") +
                                      error.what());
  }
}

void HalPlayback::Start() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  // Fail on a bad format before anything is created.
  NegotiateFormat(LayoutOf(options_.format), options_.format);
  device_ = ResolvePlaybackDevice(options_.device);

  AudioComponentDescription description{};
  description.componentType = kAudioUnitType_Output;
  description.componentSubType = kAudioUnitSubType_HALOutput;
  description.componentManufacturer = kAudioUnitManufacturer_Apple;
  AudioComponent component = AudioComponentFindNext(nullptr, &description);
  if (component == nullptr) {
    throw EngineError("EOS", "the HAL output unit (kAudioUnitSubType_HALOutput) was not found");
  }
  Check(AudioComponentInstanceNew(component, &unit_), "AudioComponentInstanceNew(HALOutput)");

  // Output on bus 0 is enabled and input on bus 1 disabled by default: nothing to switch.
  SetUnitProperty(kAudioOutputUnitProperty_CurrentDevice, kAudioUnitScope_Global, 0, &device_,
                  sizeof(device_), "kAudioOutputUnitProperty_CurrentDevice");
  // The input scope of bus 0 is what the render callback delivers; the unit converts it
  // (sample type, rate, channel count) to the device's stream format.
  const AudioStreamBasicDescription format = AsbdFromLayout(LayoutOf(options_.format));
  try {
    SetUnitProperty(kAudioUnitProperty_StreamFormat, kAudioUnitScope_Input, 0, &format,
                    sizeof(format), "kAudioUnitProperty_StreamFormat");
  } catch (const EngineError& error) {
    throw EngineError(error.code, std::string("the output unit does not take ") +
                                      std::to_string(options_.format.sample_rate) + " Hz " +
                                      std::to_string(options_.format.channels) + " ch " +
                                      EncodingName(options_.format.encoding) + ": " +
                                      error.what());
  }
  if (options_.format.channels == 1) MapMonoToFirstPair();
  const AURenderCallbackStruct callback{&HalPlayback::Render, this};
  SetUnitProperty(kAudioUnitProperty_SetRenderCallback, kAudioUnitScope_Input, 0, &callback,
                  sizeof(callback), "kAudioUnitProperty_SetRenderCallback");

  Check(AudioUnitInitialize(unit_), "AudioUnitInitialize(HALOutput)");
  initialized_ = true;
  Check(AudioOutputUnitStart(unit_), "AudioOutputUnitStart");
  started_ = true;
  latency_frames_ = MeasureLatency();
}

void HalPlayback::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  latency_frames_ = -1;
  if (unit_ == nullptr) return;
  // AudioOutputUnitStop, called off the IO thread, returns after the last render callback,
  // so nothing reads the core after this.
  if (started_) AudioOutputUnitStop(unit_);
  if (initialized_) AudioUnitUninitialize(unit_);
  AudioComponentInstanceDispose(unit_);
  unit_ = nullptr;
  initialized_ = false;
  started_ = false;
}

int64_t HalPlayback::OutputLatencyFrames() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (!started_) return -1;
  // An unplugged device stops calling the render callback; there is no latency to report.
  UInt32 alive = 1;
  if (TryGet(device_, Address(kAudioDevicePropertyDeviceIsAlive), &alive) == noErr && !alive) {
    return -1;
  }
  return latency_frames_;
}

int64_t HalPlayback::MeasureLatency() const {
  const auto frames = [](AudioObjectID object, AudioObjectPropertySelector selector,
                          AudioObjectPropertyScope scope) -> int64_t {
    UInt32 value = 0;
    return TryGet(object, Address(selector, scope), &value) == noErr ? value : -1;
  };
  constexpr AudioObjectPropertyScope kOut = kAudioObjectPropertyScopeOutput;
  OutputLatencyParts parts;
  Float64 rate = 0;
  if (TryGet(device_, Address(kAudioDevicePropertyNominalSampleRate), &rate) == noErr) {
    parts.device_sample_rate = rate;
  }
  parts.device_frames = frames(device_, kAudioDevicePropertyLatency, kOut);
  parts.safety_offset_frames = frames(device_, kAudioDevicePropertySafetyOffset, kOut);
  parts.buffer_frames =
      frames(device_, kAudioDevicePropertyBufferFrameSize, kAudioObjectPropertyScopeGlobal);
  std::vector<AudioStreamID> streams;
  try {
    streams = GetArray<AudioStreamID>(device_, Address(kAudioDevicePropertyStreams, kOut),
                                      "kAudioDevicePropertyStreams");
  } catch (const EngineError&) {
    // Left unknown (counted as 0), like a device that reports no stream latency.
  }
  // The first output stream: the unit plays into it (and the next ones for more channels).
  if (!streams.empty()) {
    parts.stream_frames =
        frames(streams.front(), kAudioStreamPropertyLatency, kAudioObjectPropertyScopeGlobal);
  }
  Float64 unit_seconds = 0;
  UInt32 size = sizeof(unit_seconds);
  if (AudioUnitGetProperty(unit_, kAudioUnitProperty_Latency, kAudioUnitScope_Global, 0,
                           &unit_seconds, &size) == noErr) {
    parts.unit_seconds = unit_seconds;
  }
  return OutputLatencyInFrames(parts, options_.format.sample_rate);
}

// The real-time path: the unit's buffer is the playback's interleaved format, filled straight
// from the jitter buffer. No allocation, lock, Objective-C message or system call.
OSStatus HalPlayback::Render(void* client, AudioUnitRenderActionFlags*, const AudioTimeStamp*,
                             UInt32, UInt32 frame_count, AudioBufferList* data) {
  auto* self = static_cast<HalPlayback*>(client);
  if (data == nullptr || data->mNumberBuffers == 0 || data->mBuffers[0].mData == nullptr) {
    return noErr;
  }
  AudioBuffer& buffer = data->mBuffers[0];
  const UInt32 frames =
      std::min<UInt32>(frame_count, buffer.mDataByteSize / self->bytes_per_frame_);
  self->core_->Pull(buffer.mData, frames);
  return noErr;
}

}  // namespace

std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core) {
  auto playback = std::make_unique<HalPlayback>(options, core);
  playback->Start();  // on throw, ~HalPlayback disposes of whatever Start() created
  return playback;
}

}  // namespace mac
}  // namespace audiotap

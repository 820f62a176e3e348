#include "backends/macos/input_session.h"

#import <Foundation/Foundation.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "backends/macos/devices.h"
#include "backends/macos/processes.h"
#include "backends/macos/properties.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace mac {

namespace {

// The device's first input stream and its format (what its IOProc's first input buffer
// holds). Throws EngineError ENOAPP when the device has no input stream any more.
AudioStreamBasicDescription FirstInputFormat(AudioObjectID device, const std::string& text) {
  const auto streams = GetArray<AudioStreamID>(
      device, Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeInput),
      "kAudioDevicePropertyStreams");
  if (streams.empty()) throw EngineError("ENOAPP", text + " has no input stream");
  return Get<AudioStreamBasicDescription>(streams.front(),
                                          Address(kAudioStreamPropertyVirtualFormat),
                                          "kAudioStreamPropertyVirtualFormat");
}

}  // namespace

OSStatus InputSession::IOProc(AudioObjectID, const AudioTimeStamp*, const AudioBufferList* input,
                              const AudioTimeStamp* input_time, AudioBufferList*,
                              const AudioTimeStamp*, void* client) {
  if (input == nullptr || input->mNumberBuffers == 0) return noErr;
  PcmPath& path = static_cast<InputSession*>(client)->path_;
  // One buffer per input stream (interleaved), or one per channel of a non-interleaved one:
  // the first stream's only.
  const uint32_t wanted = path.plan().interleave ? path.plan().input.channels : 1;
  path.OnInput(input->mBuffers, std::min<uint32_t>(wanted, input->mNumberBuffers), input_time);
  return noErr;
}

void InputSession::Open() {
  if (options_.EffectiveMuteMode() != MuteMode::kUnmuted) {
    throw EngineError("EUNSUPPORTED", "mute applies to app captures (one app or several), not "
                                      "to the system mix or an input device");
  }
  const std::string& device = options_.target.device.empty() ? options_.device
                                                             : options_.target.device;
  device_ = ResolveInputDevice(device);
  const std::string name = TryGetString(device_, Address(kAudioObjectPropertyName));
  device_text_ = "the input \"" + (name.empty() ? device : name) + "\"";

  const AudioStreamBasicDescription format = FirstInputFormat(device_, device_text_);
  // The device's mono or stereo (of a device with more channels, the first two: the
  // AudioConverter's default channel map) at the caller's rate and encoding: the capture core
  // makes mono by its one law.
  Format recorded = options_.format;
  recorded.channels = RecordChannels(format.mChannelsPerFrame);
  const FormatPlan plan = NegotiateFormat(LayoutFromAsbd(format), recorded);
  source_ = core_->AcquireSource(recorded.channels, track_);
  if (source_ < 0) throw EngineError("EOS", "the capture has no free source slot");
  path_.Prepare(plan, core_, source_);

  // An input is always there: the timeline starts now.
  core_->MarkRecording();
  Check(AudioDeviceCreateIOProcID(device_, &InputSession::IOProc, this, &io_proc_),
        "AudioDeviceCreateIOProcID");
  Check(AudioDeviceStart(device_, io_proc_), "AudioDeviceStart");
  io_started_ = true;
  control_.Start([this] { ControlLoop(); });
}

void InputSession::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  control_.Stop();
  // AudioDeviceStop returns after the last IOProc call, so nothing writes after this.
  if (io_started_) AudioDeviceStop(device_, io_proc_);
  if (source_ >= 0) ConvertStaged();  // what the converter has not taken yet
  if (io_proc_ != nullptr) AudioDeviceDestroyIOProcID(device_, io_proc_);
  path_.Dispose();
  if (source_ >= 0) core_->ReleaseSource(source_);
  io_started_ = false;
  io_proc_ = nullptr;
  source_ = -1;
}

void InputSession::EndWith(EndReason reason, const std::string& code,
                           const std::string& message) {
  core_->End(reason, code, message);
  ended_ = true;
}

void InputSession::ConvertStaged() {
  try {
    path_.ConvertStaged();
  } catch (const EngineError& error) {
    if (!ended_) EndWith(EndReason::kError, error.code, error.what());
  }
}

void InputSession::CheckDevice() {
  const PcmLayout& input = path_.plan().input;
  if (path_.format_error()) {
    EndWith(EndReason::kError, "EFORMAT",
            "the buffers of " + device_text_ + " no longer match its format (" +
                std::to_string(input.channels) + " ch); start the capture again");
    return;
  }
  UInt32 alive = 1;
  if (TryGet(device_, Address(kAudioDevicePropertyDeviceIsAlive), &alive) == noErr && !alive) {
    EndWith(EndReason::kError, "EOS", device_text_ + " was disconnected");
    return;
  }
  // A device that changes its sample rate would otherwise be recorded at the wrong speed.
  AudioStreamBasicDescription format{};
  try {
    format = FirstInputFormat(device_, device_text_);
  } catch (const EngineError&) {
    return;  // being reconfigured: the next check sees it
  }
  if (format.mSampleRate != input.sample_rate || format.mChannelsPerFrame != input.channels) {
    EndWith(EndReason::kError, "EFORMAT",
            "the format of " + device_text_ + " changed from " + std::to_string(input.channels) +
                " ch " + std::to_string(static_cast<int64_t>(input.sample_rate)) + " Hz to " +
                std::to_string(format.mChannelsPerFrame) + " ch " +
                std::to_string(static_cast<int64_t>(format.mSampleRate)) +
                " Hz (reconfigured in Audio MIDI Setup?); start the capture again");
  }
}

void InputSession::ControlLoop() {
  SilenceProbe probe(
      static_cast<uint64_t>(kPermissionProbeSeconds * path_.plan().input.sample_rate));
  uint64_t seen_frames = 0;
  uint64_t reported_drops = 0;
  auto next_check = std::chrono::steady_clock::now();
  while (control_.Running()) {
    @autoreleasepool {
      if (!ended_ && path_.converting()) ConvertStaged();
      if (!ended_ && std::chrono::steady_clock::now() >= next_check) {
        next_check += kCheckInterval;
        CheckDevice();
        const uint64_t frames = path_.frames();
        // A live input is never bit-exact zero for seconds: a device that delivers only that
        // is silenced by macOS for lack of the microphone permission.
        if (!ended_ && frames > seen_frames &&
            probe.Update(frames - seen_frames, path_.any_nonzero(), /*target_playing=*/true)) {
          const std::string message = MicrophonePermissionMessage(
              FindPermissionHost(ExecutableChain()), device_text_);
          core_->sink()->OnWarning("EPERMISSION", message);
          core_->NoteSilence(true, "permission", message,
                             static_cast<int64_t>(kPermissionProbeSeconds * 1e9));
        }
        seen_frames = frames;
        const uint64_t drops = path_.staging_dropped_frames();
        if (!ended_ && drops > reported_drops) {
          core_->sink()->OnWarning("", std::to_string(drops - reported_drops) + " frames of " +
                                           device_text_ +
                                           " were dropped before format conversion (the "
                                           "converter fell behind)");
          reported_drops = drops;
        }
      }
    }
    control_.Sleep(path_.converting() ? kConvertInterval : kCheckInterval);
  }
}

}  // namespace mac
}  // namespace audiotap

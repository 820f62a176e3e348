// One capture of an input device (a microphone, an interface's inputs): an IOProc on the
// device itself, its first input stream into the capture core by a PcmPath (pcm_path.h). A
// capture of its own ({kind: "input"}) or one track of a multitrack capture. Needs no tap API:
// works on macOS 13.
//
// Threads: Open / Stop on the addon's worker thread; the IOProc on the HAL's IO thread (only
// PcmPath::OnInput); a control thread that converts (when the device's format is not the
// capture's) and every 250 ms checks the device: unplugged, its format changed, or exact
// silence for 3 s (the microphone permission is missing: a live input is never bit-exact zero).
#pragma once

#include <CoreAudio/AudioHardware.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "backends/macos/pcm_path.h"
#include "core/capture_core.h"
#include "core/control_thread.h"
#include "core/engine.h"

namespace audiotap {
namespace mac {

class InputSession final : public CaptureSession {
 public:
  // `track`: the core's track this device feeds (0 for a capture of its own).
  InputSession(const CaptureOptions& options, CaptureCore* core, uint32_t track = 0)
      : options_(options), core_(core), track_(track) {}
  ~InputSession() override { Stop(); }
  InputSession(const InputSession&) = delete;
  InputSession& operator=(const InputSession&) = delete;

  // Worker thread. Resolves the device (the target's `device`, else options.device: a UID or
  // a name; "" = the default input device) and starts its IOProc. Throws EngineError: ENOAPP /
  // EAMBIGUOUS (devices.h ResolveInputDevice), EUNSUPPORTED (mute), EFORMAT (the device's
  // format), EOS / EPERMISSION (a failed HAL call, MapOSStatus). On throw, Stop() (also from
  // the destructor) releases what was created.
  void Open();
  void Stop() override;

 private:
  static OSStatus IOProc(AudioObjectID device, const AudioTimeStamp* now,
                         const AudioBufferList* input, const AudioTimeStamp* input_time,
                         AudioBufferList* output, const AudioTimeStamp* output_time,
                         void* client);
  void ControlLoop();
  void CheckDevice();
  void ConvertStaged();
  void EndWith(EndReason reason, const std::string& code, const std::string& message);

  const CaptureOptions options_;
  CaptureCore* const core_;
  const uint32_t track_;

  // Set by Open(), read-only while the IOProc runs.
  AudioObjectID device_ = kAudioObjectUnknown;
  std::string device_text_;  // for messages: the input "MacBook Pro Microphone"
  PcmPath path_;
  int source_ = -1;
  AudioDeviceIOProcID io_proc_ = nullptr;
  bool io_started_ = false;

  bool ended_ = false;  // control thread: CaptureCore::End has been called

  ControlThread control_;  // last but the stop guard: joined before the members it uses go

  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace mac
}  // namespace audiotap

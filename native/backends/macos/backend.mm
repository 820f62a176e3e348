// macOS backend: Core Audio process taps (macOS 14.2+) for capture, an AUHAL output unit
// (macOS 13+) for playback.
//
// A capture is: a process tap (CATapDescription -> AudioHardwareCreateProcessTap, or an
// existing visible tap found by UID), a private aggregate device whose only content is that
// tap, and an IOProc on the aggregate device; or, for an input device (a microphone), an IOProc
// on that device. A multitrack capture is one such capture per track (core/track_set.h), each
// block stamped with its IOProc's input host time so the tracks share one timeline. A
// playback is: a HAL output unit
// (kAudioUnitSubType_HALOutput) on one output device, whose input scope takes the playback's
// own format and converts it to the device's. See docs/macos.md for the design notes.
//
// Threads:
//   - Backend methods and TapSession / InputSession Open/Stop: the addon's worker thread
//     (blocking calls).
//   - IOProc (PcmPath::OnInput): the HAL's real-time IO thread. It only copies: into the
//     capture core (CaptureCore::Write) when the input already has the asked format, else into
//     the session's staging ring. No allocation, lock, Objective-C message or system call
//     there.
//   - Render callback (HalPlayback::Render): the HAL's real-time IO thread of the output
//     device. It only calls PlaybackCore::Pull into the unit's buffer.
//   - Control thread: converts staged audio with an AudioConverter (when needed); every
//     250 ms checks the tapped processes, the aggregate device and the permission probe; opens
//     the tap once a waited-for app has opened audio output, and adds processes that a
//     selected app starts later (a browser's audio helper) to the running tap.
//
// The addon is built with a deployment target of macOS 13 so it loads there; every tap API is
// reached only behind @available(macOS 14.2, *) and otherwise throws EUNSUPPORTED. Playback
// and input devices use no tap API and work on macOS 13.

// One file a job: tap_session*.mm (a tap's capture), input_session.mm (an input device's),
// pcm_path.mm (an IOProc's input into the capture core), playback.mm, devices.mm (devices and taps),
// processes.mm, tap.mm (creating taps), properties.mm (HAL property access); tap_logic.cc holds
// the platform-neutral decisions, unit-tested on any OS.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/macos/devices.h"
#include "backends/macos/input_session.h"
#include "backends/macos/playback.h"
#include "backends/macos/processes.h"
#include "backends/macos/properties.h"
#include "backends/macos/tap_session.h"
#include "core/app_list.h"
#include "core/engine.h"
#include "core/track_set.h"

namespace audiotap {
namespace mac {
namespace {

class CoreAudioBackend final : public Backend {
 public:
  const char* Name() const override { return "coreaudio"; }

  std::vector<AppInfo> ListApps() override {
    if (@available(macOS 14.2, *)) {
      return WithAutoreleasePool([] { return ListAppsImpl(); });
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("listing apps' audio"));
  }

  std::vector<DeviceInfo> ListDevices() override {
    return WithAutoreleasePool([] { return mac::ListDevices(); });
  }

  std::vector<TapInfo> ListTaps() override {
    if (@available(macOS 14.2, *)) {
      return WithAutoreleasePool([] { return mac::ListTaps(); });
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("listing taps"));
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    return WithAutoreleasePool([&]() -> std::unique_ptr<CaptureSession> {
      if (!options.track_targets.empty()) {
        return StartTrackSet(options, core,
                             [core](const CaptureOptions& one, uint32_t track, TrackHost* host) {
                               return StartTarget(one, core, track, host);
                             });
      }
      return StartTarget(options, core, 0, nullptr);
    });
  }

  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    return WithAutoreleasePool(
        [&]() -> std::unique_ptr<PlaybackSession> { return mac::StartPlayback(options, core); });
  }

  // Core Audio has no per-app volume: the tap's mute and the eq node's preamp replace it.
  void SetAppVolume(const AppSelector&, std::optional<double>, std::optional<bool>) override {
    throw EngineError("EUNSUPPORTED",
                      "per-app volume is not available on macOS; use tap-source with mute, "
                      "then eq (preamp) and audio-out");
  }

 private:
  // One target's capture feeding `core`'s track `track` (with `host`: one track of a multitrack
  // capture, each track a capture of its own placed on the timeline by its host-time stamps).
  // On throw, the session's destructor releases whatever Open() created.
  static std::unique_ptr<CaptureSession> StartTarget(const CaptureOptions& options,
                                                     CaptureCore* core, uint32_t track,
                                                     TrackHost* host) {
    if (options.target.kind == TargetKind::kInput) {
      auto session = std::make_unique<InputSession>(options, core, track);
      session->Open();
      return session;
    }
    if (@available(macOS 14.2, *)) {
      auto session = std::make_unique<TapSession>(options, core, track, host);
      session->Open();
      return session;
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("capturing an app's audio"));
  }

  // One Core Audio process object per process: one stream each, no volume or mute of its own.
  static std::vector<AppInfo> ListAppsImpl() {
    std::vector<AppStream> streams;
    for (const ProcessEntry& entry : ListProcessEntries()) {
      AppStream stream;
      stream.pid = entry.pid;
      stream.name = entry.name;
      stream.executable = entry.executable;
      stream.bundle_id = entry.bundle_id;
      stream.playing = entry.running_output;
      streams.push_back(std::move(stream));
    }
    return AppsFromStreams(streams);
  }
};

}  // namespace
}  // namespace mac

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<mac::CoreAudioBackend>(); }

}  // namespace audiotap

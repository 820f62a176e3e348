#include "backends/macos/tap_session.h"

#import <Foundation/Foundation.h>

#include <algorithm>
#include <cstring>

#include "backends/macos/devices.h"
#include "backends/macos/processes.h"
#include "backends/macos/properties.h"
#include "backends/macos/tap.h"
#include "core/app_list.h"
#include "core/channel_mix.h"

namespace audiotap {
namespace mac {

bool TapSession::NoteTargets(const std::vector<ProcessEntry>& processes,
                             const std::vector<uint32_t>& objects) {
  bool back = false;
  for (uint32_t object : objects) {
    if (std::find(tapped_.begin(), tapped_.end(), object) != tapped_.end()) continue;
    tapped_.push_back(object);
    for (const ProcessEntry& entry : processes) {
      if (entry.object_id != object) continue;
      // A process of a followed name is the app's (and, after it was gone, brings it back);
      // any other tapped process is pinned (core/app_follow.h).
      const auto named = [&entry](const std::string& lower_name) {
        return NameMatches(lower_name, entry.name, entry.executable, entry.bundle_id);
      };
      switch (follow_.ClaimProcess(entry.pid, named)) {
        case AppFollow::Claim::kNo:
          follow_.Pin(entry.pid);
          break;
        case AppFollow::Claim::kBack:
          back = true;
          break;
        case AppFollow::Claim::kYes:
          break;
      }
      targets_.push_back(entry);
      if (!target_text_.empty()) target_text_ += ", ";
      target_text_ += entry.name + " (pid " + std::to_string(entry.pid) + ")";
    }
  }
  return back;
}

std::vector<uint32_t> TapSession::ResolveTarget(const std::vector<ProcessEntry>& processes) {
  if (options_.target.kind == TargetKind::kSystem) {
    excluded_ = ResolveProcessObjects(options_.target.exclude, processes);
    target_text_ = "the system mix";
    return excluded_;
  }
  if (options_.target.apps.empty()) {
    throw EngineError("ENOAPP", "an app capture needs at least one app");
  }
  std::vector<AppSelector> now;
  for (const AppSelector& selector : options_.target.apps) {
    // A name is followed (options.follow): armed before the app runs, kept when it exits.
    const bool follow = options_.follow && selector.pid <= 0;
    if (follow) follow_.Follow(AsciiLower(selector.name));
    bool has_object = false;
    if (selector.pid > 0) {
      const pid_t pid = selector.pid;
      has_object = Get<AudioObjectID>(kAudioObjectSystemObject,
                                      Address(kAudioHardwarePropertyTranslatePIDToProcessObject),
                                      "kAudioHardwarePropertyTranslatePIDToProcessObject", &pid,
                                      sizeof(pid)) != kAudioObjectUnknown;
      if (!has_object && !ProcessExists(pid)) {
        throw EngineError("ENOAPP", "no running process has the PID " + std::to_string(pid));
      }
    } else {
      for (const ProcessEntry& entry : processes) {
        has_object = has_object || NameMatches(selector.name, entry.name, entry.executable,
                                               entry.bundle_id);
      }
      if (!has_object && !RunningProcessNamed(selector.name) && (!follow || options_.strict)) {
        // MatchSelector's ENOAPP says what names match against.
        MatchSelector(selector, processes);
      }
    }
    // A running app that has not opened audio output has no process object to tap yet; a
    // followed one that does not run yet is armed.
    (has_object ? now : waiting_).push_back(selector);
  }
  return ResolveProcessObjects(now, processes);
}

void TapSession::CheckDevice() const {
  if (options_.device.empty()) return;
  const AudioObjectID device = TranslateUID(kAudioHardwarePropertyTranslateUIDToDevice,
                                            options_.device,
                                            "kAudioHardwarePropertyTranslateUIDToDevice");
  if (device == kAudioObjectUnknown) {
    throw EngineError("ENODEVICE", "no audio device has the UID \"" + options_.device +
                                       "\"; list devices to see their UIDs");
  }
  if (options_.device_stream >= 0) {
    const auto streams = GetArray<AudioStreamID>(
        device, Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput),
        "kAudioDevicePropertyStreams");
    if (static_cast<size_t>(options_.device_stream) >= streams.size()) {
      throw EngineError("ENODEVICE", "device \"" + options_.device + "\" has " +
                                         std::to_string(streams.size()) +
                                         " output streams; stream " +
                                         std::to_string(options_.device_stream) +
                                         " does not exist");
    }
  }
}

void TapSession::CreateAggregateDevice() {
  NSString* uid =
      [NSString stringWithFormat:@"%s%@", kAggregateUidPrefix, [NSUUID UUID].UUIDString];
  NSString* tap_uid = [NSString stringWithUTF8String:tap_uid_.c_str()];
  if (tap_uid == nil) throw EngineError("EOS", "the tap's UID is not valid UTF-8");
  // Private: invisible to other processes and destroyed by the HAL if this process dies.
  // Only the tap, no sub-device: the aggregate runs on the tap's clock, and drift
  // compensation keeps the tap aligned with it. No tap auto-start: with it AudioDeviceStart
  // waits for the target's first audio, and a start must return at once even for a silent app
  // (the capture core fills silence).
  NSDictionary* composition = @{
    @kAudioAggregateDeviceNameKey : @(kAggregateName),
    @kAudioAggregateDeviceUIDKey : uid,
    @kAudioAggregateDeviceIsPrivateKey : @YES,
    @kAudioAggregateDeviceIsStackedKey : @NO,
    @kAudioAggregateDeviceTapAutoStartKey : @NO,
    @kAudioAggregateDeviceSubDeviceListKey : @[],
    @kAudioAggregateDeviceTapListKey : @[ @{
      @kAudioSubTapUIDKey : tap_uid,
      @kAudioSubTapDriftCompensationKey : @YES,
    } ],
  };
  Check(AudioHardwareCreateAggregateDevice((__bridge CFDictionaryRef)composition, &aggregate_),
        "AudioHardwareCreateAggregateDevice");
}

// Either attaches to `existing_tap` or creates a tap from `plan`, then builds everything up
// to a running IOProc. Worker thread (Open) or control thread (a waited-for app).
void TapSession::OpenTap(AudioObjectID existing_tap, const TapPlan* plan) {
  if (plan == nullptr) {
    tap_ = existing_tap;
    owns_tap_ = false;
  } else {
    tap_ = CreateProcessTap(*plan);
    owns_tap_ = true;
  }
  tap_uid_ = GetString(tap_, Address(kAudioTapPropertyUID), "kAudioTapPropertyUID");
  const auto tap_format = Get<AudioStreamBasicDescription>(
      tap_, Address(kAudioTapPropertyFormat), "kAudioTapPropertyFormat");
  // The tap's stereo (or mono) at the caller's rate and encoding: the capture core makes mono
  // by its one law (core/channel_mix.h), not the AudioConverter's.
  Format recorded = options_.format;
  recorded.channels = RecordChannels(tap_format.mChannelsPerFrame);
  const FormatPlan format_plan = NegotiateFormat(LayoutFromAsbd(tap_format), recorded);
  source_ = core_->AcquireSource(recorded.channels, track_);
  if (source_ < 0) throw EngineError("EOS", "the capture has no free source slot");
  path_.Prepare(format_plan, core_, source_);

  CreateAggregateDevice();
  Check(AudioDeviceCreateIOProcID(aggregate_, &TapSession::IOProc, this, &io_proc_),
        "AudioDeviceCreateIOProcID");
  Check(AudioDeviceStart(aggregate_, io_proc_), "AudioDeviceStart");
  io_started_ = true;
  opened_ = true;
}

void TapSession::Open() {
  // Fail on a bad asked format before anything is created.
  NegotiateFormat(LayoutOf(options_.format), options_.format);

  if (options_.target.kind == TargetKind::kTap) {
    if (options_.target.tap_uid.empty()) {
      throw EngineError("ENOTAP", "an existing-tap capture needs the tap's UID; list taps");
    }
    const AudioObjectID tap = TranslateUID(kAudioHardwarePropertyTranslateUIDToTap,
                                           options_.target.tap_uid,
                                           "kAudioHardwarePropertyTranslateUIDToTap");
    if (tap == kAudioObjectUnknown) {
      throw EngineError("ENOTAP", "no visible tap has the UID \"" + options_.target.tap_uid +
                                      "\" (a private tap of another process cannot be "
                                      "attached); list taps to see them");
    }
    target_text_ = "tap " + options_.target.tap_uid;
    OpenTap(tap, nullptr);
  } else {
    CheckDevice();
    const std::vector<ProcessEntry> processes = ListProcessEntries();
    const std::vector<uint32_t> objects = ResolveTarget(processes);
    if (options_.target.kind == TargetKind::kApp) {
      NoteTargets(processes, objects);
      for (const AppSelector& selector : waiting_) {
        if (!target_text_.empty()) target_text_ += ", ";
        target_text_ += selector.pid > 0 ? "pid " + std::to_string(selector.pid) : selector.name;
      }
    }
    // Every app still to come: the capture waits (core state kWaiting) until one plays.
    if (options_.target.kind == TargetKind::kSystem || !objects.empty()) {
      const TapPlan plan = PlanTap(options_, objects);
      OpenTap(kAudioObjectUnknown, &plan);
    }
  }
  control_.Start([this] { ControlLoop(); });
}

void TapSession::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  // The control thread may still be opening a waited-for app: it finishes first, and what it
  // opened is then visible here.
  control_.Stop();
  // AudioDeviceStop returns after the last IOProc call, so nothing writes after this.
  if (io_started_) AudioDeviceStop(aggregate_, io_proc_);
  if (source_ >= 0) ConvertStaged();  // what the converter has not taken yet
  if (io_proc_ != nullptr) AudioDeviceDestroyIOProcID(aggregate_, io_proc_);
  if (aggregate_ != kAudioObjectUnknown) AudioHardwareDestroyAggregateDevice(aggregate_);
  if (tap_ != kAudioObjectUnknown && owns_tap_) {
    if (@available(macOS 14.2, *)) DestroyProcessTap(tap_);
  }
  path_.Dispose();
  if (source_ >= 0) core_->ReleaseSource(source_);
  io_started_ = false;
  io_proc_ = nullptr;
  aggregate_ = kAudioObjectUnknown;
  tap_ = kAudioObjectUnknown;
  source_ = -1;
}

}  // namespace mac
}  // namespace audiotap

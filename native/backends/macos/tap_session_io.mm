#include "backends/macos/tap_session.h"

#import <Foundation/Foundation.h>

#include <algorithm>
#include <cstring>

#include "backends/macos/processes.h"
#include "backends/macos/properties.h"
#include "backends/macos/tap.h"

namespace audiotap {
namespace mac {

// ---- IO thread ----------------------------------------------------------------------------

OSStatus TapSession::IOProc(AudioObjectID, const AudioTimeStamp*, const AudioBufferList* input,
                            const AudioTimeStamp* input_time, AudioBufferList*,
                            const AudioTimeStamp*, void* client) {
  if (input != nullptr) {
    static_cast<TapSession*>(client)->path_.OnInput(input->mBuffers, input->mNumberBuffers,
                                                    input_time);
  }
  return noErr;
}

// ---- Control thread -----------------------------------------------------------------------

void TapSession::EndWith(EndReason reason, const std::string& code, const std::string& message) {
  core_->End(reason, code, message);
  ended_ = true;
}

void TapSession::EndExited(const std::string& message) {
  if (host_ == nullptr) {
    EndWith(EndReason::kTargetExited, "", message);
    return;
  }
  // One track of several: it records silence from here; the whole ends with the last.
  if (source_ >= 0) core_->SetSourcePaused(source_, true);
  ended_ = true;
  host_->TrackExited(track_);
}

void TapSession::ConvertStaged() {
  try {
    path_.ConvertStaged();
  } catch (const EngineError& error) {
    if (!ended_) EndWith(EndReason::kError, error.code, error.what());
  }
}

bool TapSession::TargetPlaying() {
  if (options_.target.kind == TargetKind::kApp) {
    for (uint32_t object : tapped_) {
      if (IsRunningOutput(object)) return true;
    }
    return false;
  }
  // The system mix or another process's tap: any process but the excluded ones counts.
  std::vector<AudioObjectID> objects;
  try {
    objects = GetArray<AudioObjectID>(kAudioObjectSystemObject,
                                      Address(kAudioHardwarePropertyProcessObjectList),
                                      "kAudioHardwarePropertyProcessObjectList");
  } catch (const EngineError&) {
    return false;
  }
  for (AudioObjectID object : objects) {
    if (std::find(excluded_.begin(), excluded_.end(), object) != excluded_.end()) continue;
    if (IsRunningOutput(object)) return true;
  }
  return false;
}

bool TapSession::WaitingAlive() const {
  for (const AppSelector& selector : waiting_) {
    if (selector.pid > 0 ? ProcessExists(selector.pid) : RunningProcessNamed(selector.name)) {
      return true;
    }
  }
  return false;
}

// kApp: opens the tap once a waited-for app has a process object, and adds processes that
// appear later under a selected name (a browser's new audio helper) to the running tap.
void TapSession::FollowApps() {
  const std::vector<ProcessEntry> processes = ListProcessEntries();
  const auto is_waiting = [this](const AppSelector& selector) {
    return std::find_if(waiting_.begin(), waiting_.end(), [&](const AppSelector& w) {
             return w.pid == selector.pid && w.name == selector.name;
           }) != waiting_.end();
  };
  std::vector<uint32_t> added;
  std::vector<AppSelector> still_waiting;
  for (const AppSelector& selector : options_.target.apps) {
    const bool was_waiting = is_waiting(selector);
    // A PID already tapped has nothing more to find; a name may gain processes.
    if (!was_waiting && selector.pid > 0) continue;
    std::vector<size_t> matches;
    try {
      matches = MatchSelector(selector, processes);
    } catch (const EngineError& error) {
      // A waited-for name that turns out ambiguous ends the capture as it would have at
      // start; otherwise the app is not there yet (ENOAPP), or a name already tapped became
      // ambiguous: keep what is tapped.
      if (was_waiting && error.code == "EAMBIGUOUS") throw;
    }
    if (matches.empty() && was_waiting) still_waiting.push_back(selector);
    for (size_t index : matches) {
      const uint32_t object = processes[index].object_id;
      if (std::find(tapped_.begin(), tapped_.end(), object) == tapped_.end() &&
          std::find(unjoinable_.begin(), unjoinable_.end(), object) == unjoinable_.end() &&
          std::find(added.begin(), added.end(), object) == added.end()) {
        added.push_back(object);
      }
    }
  }
  waiting_ = std::move(still_waiting);
  if (added.empty()) {
    // An armed, followed name waits for its app however long it takes.
    if (!opened_ && !follow_.following() && !WaitingAlive()) {
      EndExited(target_text_ + " exited before it played");
    }
    return;
  }
  if (!opened_) {
    target_text_.clear();
    NoteTargets(processes, added);
    const TapPlan plan = PlanTap(options_, tapped_);
    OpenTap(kAudioObjectUnknown, &plan);
    return;
  }
  // Objects of processes that have exited are left out: the HAL has dropped them already.
  std::vector<uint32_t> all;
  for (uint32_t object : tapped_) {
    for (const ProcessEntry& entry : processes) {
      if (entry.object_id == object) all.push_back(object);
    }
  }
  all.insert(all.end(), added.begin(), added.end());
  try {
    SetTapProcesses(tap_, all);
  } catch (const EngineError& error) {
    // The capture goes on with the processes it has; these are not tried again.
    unjoinable_.insert(unjoinable_.end(), added.begin(), added.end());
    core_->sink()->OnWarning("", std::string("a process that started playing later could not join "
                                         "the running tap: ") + error.what());
    return;
  }
  if (NoteTargets(processes, added)) {
    // The followed app plays again: the tap's audio holds the timeline again.
    core_->SetSourcePaused(source_, false);
    core_->NoteTarget(true, TrackIndex());
  }
}

void TapSession::CheckHealth() {
  const PcmLayout& input = path_.plan().input;
  if (path_.format_error()) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's buffers no longer match its format (" + std::to_string(input.channels) +
                " ch); its device changed format: start the capture again");
    return;
  }
  // A device that changes its sample rate would otherwise be recorded at the wrong speed.
  AudioStreamBasicDescription format{};
  if (TryGet(tap_, Address(kAudioTapPropertyFormat), &format) == noErr &&
      (format.mSampleRate != input.sample_rate || format.mChannelsPerFrame != input.channels)) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's format changed from " + std::to_string(input.channels) + " ch " +
                std::to_string(static_cast<int64_t>(input.sample_rate)) + " Hz to " +
                std::to_string(format.mChannelsPerFrame) + " ch " +
                std::to_string(static_cast<int64_t>(format.mSampleRate)) +
                " Hz (the output device was switched or reconfigured); start the capture again");
    return;
  }
  UInt32 alive = 1;
  if (TryGet(aggregate_, Address(kAudioDevicePropertyDeviceIsAlive), &alive) == noErr && !alive) {
    EndWith(EndReason::kError, "EOS", "the tap's aggregate device stopped running");
    return;
  }
  if (options_.target.kind != TargetKind::kApp) return;
  // The follow rules (core/app_follow.h). Streams: a process that exited has no process object
  // left, so nothing lingers.
  const auto running = [](int32_t pid) { return ProcessExists(pid); };
  const auto no_scan = [](const std::string&) { return false; };  // waiting_ is checked here
  switch (follow_.Tick(running, no_scan, /*streams=*/false)) {
    case AppFollow::Verdict::kExited:
      if (!WaitingAlive()) EndExited(target_text_ + " exited");
      break;
    case AppFollow::Verdict::kGone:
      // The recording goes on: the tap (with no process left) no longer clocks the timeline;
      // the capture core fills silence until a process of the app plays again (FollowApps).
      targets_.erase(std::remove_if(targets_.begin(), targets_.end(),
                                    [](const ProcessEntry& t) { return !ProcessExists(t.pid); }),
                     targets_.end());
      core_->SetSourcePaused(source_, true);
      core_->NoteTarget(false, TrackIndex());
      break;
    case AppFollow::Verdict::kNone:
      break;
  }
}

void TapSession::ControlLoop() {
  std::unique_ptr<SilenceProbe> probe;
  uint64_t seen_frames = 0;
  uint64_t reported_drops = 0;
  int ticks = 0;
  const bool following = options_.target.kind == TargetKind::kApp;
  auto next_check = std::chrono::steady_clock::now();
  while (control_.Running()) {
    @autoreleasepool {
      if (opened_ && !ended_ && path_.converting()) ConvertStaged();
      if (!ended_ && std::chrono::steady_clock::now() >= next_check) {
        next_check += kCheckInterval;
        // Waiting: look for the apps every check; recording: once a second.
        if (following && (!opened_ || ++ticks % 4 == 0)) {
          try {
            if (@available(macOS 14.2, *)) FollowApps();
          } catch (const EngineError& error) {
            EndWith(EndReason::kError, error.code, error.what());
          } catch (const std::exception& error) {
            EndWith(EndReason::kError, "EOS", error.what());
          }
        }
        if (opened_ && !ended_) {
          CheckHealth();
          if (!probe) {
            probe = std::make_unique<SilenceProbe>(
                static_cast<uint64_t>(kPermissionProbeSeconds * path_.plan().input.sample_rate));
          }
          const uint64_t frames = path_.frames();
          const bool nonzero = path_.any_nonzero();
          if (!ended_ && !probe->audible() && !probe->suspected() && frames > seen_frames) {
            // Only while exact silence lasts is the target's state worth a HAL query.
            const bool playing = !nonzero && TargetPlaying();
            if (probe->Update(frames - seen_frames, nonzero, playing)) {
              const std::string message =
                  PermissionMessage(FindPermissionHost(ExecutableChain()), target_text_);
              core_->sink()->OnWarning("EPERMISSION", message);
              core_->NoteSilence(true, "permission", message);
            }
          }
          seen_frames = frames;
          const uint64_t drops = path_.staging_dropped_frames();
          if (drops > reported_drops) {
            core_->sink()->OnWarning("", std::to_string(drops - reported_drops) +
                                     " frames of the tap were dropped before format conversion "
                                     "(the converter fell behind)");
            reported_drops = drops;
          }
        }
      }
    }
    control_.Sleep(opened_ && path_.converting() ? kConvertInterval : kCheckInterval);
  }
}

}  // namespace mac
}  // namespace audiotap

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
                            const AudioTimeStamp*, AudioBufferList*, const AudioTimeStamp*,
                            void* client) {
  static_cast<TapSession*>(client)->OnInput(input);
  return noErr;
}

void TapSession::OnInput(const AudioBufferList* input) {
  if (input == nullptr || input->mNumberBuffers == 0) return;
  const PcmLayout& layout = plan_.input;
  if (plan_.interleave) {
    const uint32_t channels = layout.channels;
    const uint32_t sample_bytes = layout.bits_per_channel / 8;
    if (input->mNumberBuffers != channels) {
      io_format_error_.store(true, std::memory_order_relaxed);
      return;
    }
    const size_t frames = input->mBuffers[0].mDataByteSize / sample_bytes;
    for (uint32_t c = 0; c < channels; ++c) {
      if (input->mBuffers[c].mData == nullptr ||
          input->mBuffers[c].mDataByteSize / sample_bytes < frames) {
        io_format_error_.store(true, std::memory_order_relaxed);
        return;
      }
    }
    for (size_t done = 0; done < frames;) {
      const size_t block = std::min(frames - done, kBlockFrames);
      uint8_t* out = interleave_.get();
      for (size_t f = 0; f < block; ++f) {
        for (uint32_t c = 0; c < channels; ++c) {
          const uint8_t* in = static_cast<const uint8_t*>(input->mBuffers[c].mData);
          std::memcpy(out, in + (done + f) * sample_bytes, sample_bytes);
          out += sample_bytes;
        }
      }
      Deliver(interleave_.get(), block);
      done += block;
    }
    return;
  }
  const AudioBuffer& buffer = input->mBuffers[0];
  if (buffer.mNumberChannels != layout.channels || buffer.mData == nullptr) {
    io_format_error_.store(true, std::memory_order_relaxed);
    return;
  }
  Deliver(buffer.mData, buffer.mDataByteSize / layout.bytes_per_frame);
}

void TapSession::Deliver(const void* frames, size_t frame_count) {
  if (frame_count == 0) return;
  const size_t bytes = frame_count * plan_.input.bytes_per_frame;
  if (!io_nonzero_.load(std::memory_order_relaxed) && !IsExactSilence(frames, bytes)) {
    io_nonzero_.store(true, std::memory_order_relaxed);
  }
  io_frames_.fetch_add(frame_count, std::memory_order_relaxed);
  if (plan_.path == FormatPath::kDirect) {
    core_->Write(source_, frames, frame_count);
    return;
  }
  // Only whole frames enter the staging ring, so the converter never reads a split frame.
  const size_t bpf = plan_.input.bytes_per_frame;
  const size_t free_bytes = staging_.Capacity() - staging_.Readable();
  const size_t whole = std::min(bytes, free_bytes - free_bytes % bpf);
  if (whole > 0) staging_.Write(frames, whole);
  if (whole < bytes) {
    staging_dropped_frames_.fetch_add((bytes - whole) / bpf, std::memory_order_relaxed);
  }
}

// ---- Control thread -----------------------------------------------------------------------

OSStatus TapSession::ConverterInput(AudioConverterRef, UInt32* packet_count,
                                    AudioBufferList* data, AudioStreamPacketDescription**,
                                    void* user_data) {
  auto* self = static_cast<TapSession*>(user_data);
  const size_t bpf = self->plan_.input.bytes_per_frame;
  const size_t available = self->staging_.Readable() / bpf;
  if (available == 0) {
    *packet_count = 0;
    return kStagingEmpty;
  }
  const size_t frames = std::min<size_t>({*packet_count, available, kBlockFrames});
  self->staging_.Read(self->convert_in_.get(), frames * bpf);
  data->mNumberBuffers = 1;
  data->mBuffers[0].mNumberChannels = self->plan_.input.channels;
  data->mBuffers[0].mDataByteSize = static_cast<UInt32>(frames * bpf);
  data->mBuffers[0].mData = self->convert_in_.get();
  *packet_count = static_cast<UInt32>(frames);
  return noErr;
}

void TapSession::EndWith(EndReason reason, const std::string& code, const std::string& message) {
  core_->End(reason, code, message);
  ended_ = true;
}

void TapSession::ConvertStaged() {
  const uint32_t out_bpf = plan_.output.bytes_per_frame;
  while (staging_.Readable() >= plan_.input.bytes_per_frame) {
    UInt32 frames = kBlockFrames;
    AudioBufferList output;
    output.mNumberBuffers = 1;
    output.mBuffers[0].mNumberChannels = plan_.output.channels;
    output.mBuffers[0].mDataByteSize = static_cast<UInt32>(kBlockFrames * out_bpf);
    output.mBuffers[0].mData = convert_out_.get();
    const OSStatus status =
        AudioConverterFillComplexBuffer(converter_, &TapSession::ConverterInput, this, &frames,
                                        &output, nullptr);
    if (frames > 0) core_->Write(source_, convert_out_.get(), frames);
    if (status == kStagingEmpty) return;
    if (status != noErr) {
      const EngineError error = MapOSStatus("AudioConverterFillComplexBuffer", status);
      EndWith(EndReason::kError, error.code, error.what());
      return;
    }
    if (frames == 0) return;
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
      EndWith(EndReason::kTargetExited, "", target_text_ + " exited before it played");
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
    core_->NoteTarget(true);
  }
}

void TapSession::CheckHealth() {
  if (io_format_error_.load(std::memory_order_relaxed)) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's buffers no longer match its format (" +
                std::to_string(plan_.input.channels) +
                " ch); its device changed format: start the capture again");
    return;
  }
  // A device that changes its sample rate would otherwise be recorded at the wrong speed.
  AudioStreamBasicDescription format{};
  if (TryGet(tap_, Address(kAudioTapPropertyFormat), &format) == noErr &&
      (format.mSampleRate != plan_.input.sample_rate ||
       format.mChannelsPerFrame != plan_.input.channels)) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's format changed from " + std::to_string(plan_.input.channels) + " ch " +
                std::to_string(static_cast<int64_t>(plan_.input.sample_rate)) + " Hz to " +
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
      if (!WaitingAlive()) EndWith(EndReason::kTargetExited, "", target_text_ + " exited");
      break;
    case AppFollow::Verdict::kGone:
      // The recording goes on: the tap (with no process left) no longer clocks the timeline;
      // the capture core fills silence until a process of the app plays again (FollowApps).
      targets_.erase(std::remove_if(targets_.begin(), targets_.end(),
                                    [](const ProcessEntry& t) { return !ProcessExists(t.pid); }),
                     targets_.end());
      core_->SetSourcePaused(source_, true);
      core_->NoteTarget(false);
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
  std::unique_lock<std::mutex> lock(control_mutex_);
  while (!control_stop_) {
    lock.unlock();
    @autoreleasepool {
      if (opened_ && !ended_ && converter_ != nullptr) ConvertStaged();
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
                static_cast<uint64_t>(kPermissionProbeSeconds * plan_.input.sample_rate));
          }
          const uint64_t frames = io_frames_.load(std::memory_order_relaxed);
          const bool nonzero = io_nonzero_.load(std::memory_order_relaxed);
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
          const uint64_t drops = staging_dropped_frames_.load(std::memory_order_relaxed);
          if (drops > reported_drops) {
            core_->sink()->OnWarning("", std::to_string(drops - reported_drops) +
                                     " frames of the tap were dropped before format conversion "
                                     "(the converter fell behind)");
            reported_drops = drops;
          }
        }
      }
    }
    lock.lock();
    const bool converting = opened_ && converter_ != nullptr;
    control_cv_.wait_for(lock, converting ? kConvertInterval : kCheckInterval,
                         [this] { return control_stop_; });
  }
}

}  // namespace mac
}  // namespace audiotap

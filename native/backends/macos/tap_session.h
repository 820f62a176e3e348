// One capture on a process tap: the tap (created, or an existing one found by UID), a private
// aggregate device whose only content is the tap, and an IOProc on that device, whose input
// goes into the capture core by a PcmPath (pcm_path.h). In a multitrack capture, one track.
//
//   tap_session.mm      Open / Stop: resolving the target, creating and releasing everything
//   tap_session_io.mm   the IOProc and the control thread (conversion, health, apps that start
//                       playing later)
#pragma once

#include <CoreAudio/AudioHardware.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/macos/pcm_path.h"
#include "backends/macos/tap_logic.h"
#include "core/app_follow.h"
#include "core/capture_core.h"
#include "core/control_thread.h"
#include "core/engine.h"
#include "core/track_set.h"

namespace audiotap {
namespace mac {

constexpr const char* kAggregateName = "node-red-contrib-audio-tap aggregate";

// One capture. Open() acquires everything, or, when the apps run but have not opened audio
// output yet, leaves the control thread to do so once they have. Stop() (also from the
// destructor, so a failed Open() leaves nothing behind) releases it all in reverse order.
class TapSession final : public CaptureSession {
 public:
  // `track`, `host`: the core's track this capture feeds and the multitrack capture it is a
  // track of (its apps' exit is told there), or 0 and null for a capture of its own.
  TapSession(const CaptureOptions& options, CaptureCore* core, uint32_t track = 0,
             TrackHost* host = nullptr)
      : options_(options), core_(core), track_(track), host_(host) {}
  ~TapSession() override { Stop(); }
  TapSession(const TapSession&) = delete;
  TapSession& operator=(const TapSession&) = delete;

  API_AVAILABLE(macos(14.2)) void Open();
  void Stop() override;

 private:
  // Resolves the target now. Returns the process objects to tap (kApp: those that exist;
  // kSystem: those to exclude) and fills waiting_ with the kApp selectors still to come.
  std::vector<uint32_t> ResolveTarget(const std::vector<ProcessEntry>& processes);
  void CheckDevice() const;
  API_AVAILABLE(macos(14.2)) void OpenTap(AudioObjectID existing_tap, const TapPlan* plan);
  void CreateAggregateDevice();
  // Adds the processes of `objects` to the tapped targets. Returns true when one of them
  // brings a followed app back.
  bool NoteTargets(const std::vector<ProcessEntry>& processes,
                   const std::vector<uint32_t>& objects);

  static OSStatus IOProc(AudioObjectID device, const AudioTimeStamp* now,
                         const AudioBufferList* input, const AudioTimeStamp* input_time,
                         AudioBufferList* output, const AudioTimeStamp* output_time,
                         void* client);
  void ControlLoop();
  void ConvertStaged();
  void CheckHealth();
  API_AVAILABLE(macos(14.2)) void FollowApps();
  bool WaitingAlive() const;
  bool TargetPlaying();
  void EndWith(EndReason reason, const std::string& code, const std::string& message);
  // Every app of the target exited: the capture ends, or, as a track, records silence from
  // here while the other tracks go on (TrackHost::TrackExited).
  void EndExited(const std::string& message);
  // What NoteTarget says: the track of a multitrack capture, -1 for a capture of its own.
  int TrackIndex() const { return host_ != nullptr ? static_cast<int>(track_) : -1; }

  const CaptureOptions options_;
  CaptureCore* const core_;
  const uint32_t track_;
  TrackHost* const host_;

  // Set by Open() or, for a waited-for app, by the control thread before the IOProc starts;
  // read-only afterwards. Stop() reads them after joining the control thread.
  bool opened_ = false;
  PcmPath path_;
  int source_ = -1;
  AudioObjectID tap_ = kAudioObjectUnknown;
  bool owns_tap_ = false;
  std::string tap_uid_;
  AudioObjectID aggregate_ = kAudioObjectUnknown;
  AudioDeviceIOProcID io_proc_ = nullptr;
  bool io_started_ = false;

  // Control thread (and Open() before it starts).
  std::vector<AppSelector> waiting_;   // kApp selectors whose app runs but has no audio yet
  std::vector<uint32_t> tapped_;       // kApp: process objects in the tap
  std::vector<uint32_t> unjoinable_;   // kApp: process objects the tap refused to add
  std::vector<ProcessEntry> targets_;  // kApp: the tapped processes
  AppFollow follow_;                   // kApp: followed names; gone / back / exited
  std::vector<uint32_t> excluded_;     // kSystem: the excluded process objects
  std::string target_text_;            // for messages: "Music (pid 412)"
  bool ended_ = false;                 // ended (CaptureCore::End), or a track whose apps exited

  ControlThread control_;  // last but the stop guard: joined before the members it uses go

  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace mac
}  // namespace audiotap

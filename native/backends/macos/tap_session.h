// One capture on a process tap: the tap (created, or an existing one found by UID), a private
// aggregate device whose only content is the tap, and an IOProc on that device.
//
//   tap_session.mm      Open / Stop: resolving the target, creating and releasing everything
//   tap_session_io.mm   the IO thread (IOProc) and the control thread (conversion, health,
//                       apps that start playing later)
#pragma once

#include <AudioToolbox/AudioConverter.h>
#include <CoreAudio/AudioHardware.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/macos/tap_logic.h"
#include "core/app_follow.h"
#include "core/capture_core.h"
#include "core/engine.h"
#include "core/spsc_ring.h"

namespace audiotap {
namespace mac {

constexpr const char* kAggregateName = "node-red-contrib-audio-tap aggregate";

// Frames the IO thread interleaves at a time, and the converter reads / writes per call.
constexpr size_t kBlockFrames = 4096;
// The staging ring holds this much of the tap's audio for the converter.
constexpr double kStagingSeconds = 2.0;
// Exact silence for this long while a target plays means the permission is missing.
constexpr double kPermissionProbeSeconds = 3.0;
constexpr auto kCheckInterval = std::chrono::milliseconds(250);
constexpr auto kConvertInterval = std::chrono::milliseconds(5);

// Returned by the converter's input callback when the staging ring is empty: the converter
// keeps its state and hands back what it produced so far.
constexpr OSStatus kStagingEmpty = 0x74704d54;  // 'tpMT'

// One capture. Open() acquires everything, or, when the apps run but have not opened audio
// output yet, leaves the control thread to do so once they have. Stop() (also from the
// destructor, so a failed Open() leaves nothing behind) releases it all in reverse order.
class TapSession final : public CaptureSession {
 public:
  TapSession(const CaptureOptions& options, CaptureCore* core) : options_(options), core_(core) {}
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
  void PrepareBuffers();
  // Adds the processes of `objects` to the tapped targets. Returns true when one of them
  // brings a followed app back.
  bool NoteTargets(const std::vector<ProcessEntry>& processes,
                   const std::vector<uint32_t>& objects);

  static OSStatus IOProc(AudioObjectID device, const AudioTimeStamp* now,
                         const AudioBufferList* input, const AudioTimeStamp* input_time,
                         AudioBufferList* output, const AudioTimeStamp* output_time,
                         void* client);
  void OnInput(const AudioBufferList* input);
  void Deliver(const void* frames, size_t frame_count);

  static OSStatus ConverterInput(AudioConverterRef converter, UInt32* packet_count,
                                 AudioBufferList* data,
                                 AudioStreamPacketDescription** packet_descriptions,
                                 void* user_data);
  void ControlLoop();
  void ConvertStaged();
  void CheckHealth();
  API_AVAILABLE(macos(14.2)) void FollowApps();
  bool WaitingAlive() const;
  bool TargetPlaying();
  void EndWith(EndReason reason, const std::string& code, const std::string& message);

  const CaptureOptions options_;
  CaptureCore* const core_;

  // Set by Open() or, for a waited-for app, by the control thread before the IOProc starts;
  // read-only afterwards. Stop() reads them after joining the control thread.
  bool opened_ = false;
  FormatPlan plan_;
  int source_ = -1;
  AudioObjectID tap_ = kAudioObjectUnknown;
  bool owns_tap_ = false;
  std::string tap_uid_;
  AudioObjectID aggregate_ = kAudioObjectUnknown;
  AudioDeviceIOProcID io_proc_ = nullptr;
  bool io_started_ = false;
  AudioConverterRef converter_ = nullptr;

  // Control thread (and Open() before it starts).
  std::vector<AppSelector> waiting_;   // kApp selectors whose app runs but has no audio yet
  std::vector<uint32_t> tapped_;       // kApp: process objects in the tap
  std::vector<uint32_t> unjoinable_;   // kApp: process objects the tap refused to add
  std::vector<ProcessEntry> targets_;  // kApp: the tapped processes
  AppFollow follow_;                   // kApp: followed names; gone / back / exited
  std::vector<uint32_t> excluded_;     // kSystem: the excluded process objects
  std::string target_text_;            // for messages: "Music (pid 412)"
  bool ended_ = false;                 // CaptureCore::End has been called

  // IO thread buffers, allocated before the IOProc starts.
  std::unique_ptr<uint8_t[]> interleave_;
  SpscRing staging_;
  // Converter buffers: control thread, then Stop().
  std::unique_ptr<uint8_t[]> convert_in_;
  std::unique_ptr<uint8_t[]> convert_out_;

  // Written by the IO thread, read by the control thread.
  std::atomic<uint64_t> io_frames_{0};
  std::atomic<bool> io_nonzero_{false};
  std::atomic<bool> io_format_error_{false};
  std::atomic<uint64_t> staging_dropped_frames_{0};

  std::thread control_;
  std::mutex control_mutex_;
  std::condition_variable control_cv_;
  bool control_stop_ = false;

  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace mac
}  // namespace audiotap

// The way of one HAL IOProc's input into the capture core, shared by a tap's capture
// (tap_session*) and an input device's (input_session*):
//   - IO thread (OnInput): interleaves a buffer per channel into blocks, and either writes them
//     straight into the core (FormatPath::kDirect) or stages them for the converter
//     (kConvert). Every block is stamped with its capture time, from the IOProc's input time
//     (host clock) turned into the core's steady clock, so a stream opened later, or a track of
//     another device, lands on the timeline where it was captured.
//   - Control thread (ConvertStaged): an AudioConverter turns the staged frames into the
//     capture's format, stamped by where they were staged (tap_logic's FrameCaptureNs).
// Nothing on the IO thread allocates, locks, sends an Objective-C message or calls the system.
#pragma once

#include <AudioToolbox/AudioConverter.h>
#include <CoreAudio/AudioHardware.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "backends/macos/tap_logic.h"
#include "core/capture_core.h"
#include "core/frame_stamp.h"
#include "core/spsc_ring.h"

namespace audiotap {
namespace mac {

// Frames the IO thread interleaves at a time, and the converter reads / writes per call.
constexpr size_t kBlockFrames = 4096;
// The staging ring holds this much of the input for the converter.
constexpr double kStagingSeconds = 2.0;

// The control thread of a capture (tap or input device): it converts every kConvertInterval
// and checks the capture's health every kCheckInterval. Exact silence for
// kPermissionProbeSeconds while the source plays means a permission is missing.
constexpr auto kConvertInterval = std::chrono::milliseconds(5);
constexpr auto kCheckInterval = std::chrono::milliseconds(250);
constexpr double kPermissionProbeSeconds = 3.0;

// Returned by the converter's input callback when the staging ring is empty: the converter
// keeps its state and hands back what it produced so far.
constexpr OSStatus kStagingEmpty = 0x74704d54;  // 'tpMT'

// `host_time` (the HAL's host clock, mach_absolute_time units) on the steady clock the capture
// core's stamps are on (CaptureCore::Write): its age by the host clock, taken from the steady
// clock's now, so the two clocks need not share an origin. Real-time safe.
int64_t SteadyNsOfHostTime(uint64_t host_time);

class PcmPath {
 public:
  PcmPath() = default;
  ~PcmPath() { Dispose(); }
  PcmPath(const PcmPath&) = delete;
  PcmPath& operator=(const PcmPath&) = delete;

  // Before the IOProc starts (worker or control thread): the frames go to `core`'s source
  // `source` as `plan` says. Allocates every buffer and, for kConvert, the AudioConverter.
  // Throws EngineError (AudioConverterNew's status, MapOSStatus).
  void Prepare(const FormatPlan& plan, CaptureCore* core, int source);
  const FormatPlan& plan() const { return plan_; }
  bool converting() const { return converter_ != nullptr; }

  // IO thread. `buffers`: `count` AudioBuffers in plan().input's layout: one interleaved
  // buffer, or with plan().interleave one per channel. `time`: the IOProc's input time, or
  // null; a valid host time stamps the frames. A buffer list that no longer matches the
  // layout is not read and sets format_error().
  void OnInput(const AudioBuffer* buffers, uint32_t count, const AudioTimeStamp* time);

  // Control thread (and Stop(), after the IOProc stopped): converts every staged frame into
  // the core. Throws EngineError when the converter fails (MapOSStatus).
  void ConvertStaged();

  // After the IOProc stopped: frees the converter. Idempotent.
  void Dispose();

  // Written by the IO thread; any thread may read them.
  uint64_t frames() const { return io_frames_.load(std::memory_order_relaxed); }
  bool any_nonzero() const { return io_nonzero_.load(std::memory_order_relaxed); }
  bool format_error() const { return io_format_error_.load(std::memory_order_relaxed); }
  uint64_t staging_dropped_frames() const {
    return staging_dropped_frames_.load(std::memory_order_relaxed);
  }

 private:
  static OSStatus ConverterInput(AudioConverterRef converter, UInt32* packet_count,
                                 AudioBufferList* data,
                                 AudioStreamPacketDescription** packet_descriptions,
                                 void* user_data);
  // IO thread: `frame_count` interleaved frames captured from `capture_ns` on (0: unknown).
  void Deliver(const void* frames, size_t frame_count, int64_t capture_ns);

  FormatPlan plan_;
  CaptureCore* core_ = nullptr;
  int source_ = -1;

  // IO thread buffers, allocated by Prepare.
  std::unique_ptr<uint8_t[]> interleave_;
  SpscRing staging_;
  uint64_t staged_frames_ = 0;  // IO thread: frames that entered the staging ring so far
  FrameStamp staged_stamp_;     // IO thread -> control thread: a staged frame's capture time
  // Converter and its buffers: control thread, then Stop().
  AudioConverterRef converter_ = nullptr;
  std::unique_ptr<uint8_t[]> convert_in_;
  std::unique_ptr<uint8_t[]> convert_out_;
  uint64_t converted_frames_ = 0;  // frames the converter has produced so far

  std::atomic<uint64_t> io_frames_{0};
  std::atomic<bool> io_nonzero_{false};
  std::atomic<bool> io_format_error_{false};
  std::atomic<uint64_t> staging_dropped_frames_{0};
};

}  // namespace mac
}  // namespace audiotap

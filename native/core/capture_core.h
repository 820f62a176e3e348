// The shared real-time core of every capture: one lock-free ring per OS stream ("source"),
// and a drain thread that mixes the sources into fixed-length chunks and hands them to the
// host. Backends only write into sources; everything after that is the same on every OS.
//
// Channels: a source may deliver another channel count than the capture's (a backend records
// the device's stereo for a mono capture); the core converts by one law (core/channel_mix.h).
//
// Timeline: chunks form one continuous stream of frames from the moment the first source
// delivers. While sources are open, the drain is clocked by their data, however late or bursty
// the OS delivers it; while no source is open, or every open one is paused (an app between
// streams, a paused player), and the timeline has fallen behind the wall clock, it fills
// silence, so a recording's length is its duration. It fills one hold time behind the clock
// (a late source may still deliver); when a source goes live again after such a fill, the
// timeline first catches up with the clock, so the source's audio lands where it sounded. Frames that reach a full ring and chunks the
// host has no room for are dropped and counted, never queued without bound.
//
// Placement: a source that says when its frames were captured (Write's capture_ns) starts at
// the timeline position of that instant, measured against another timed source already on the
// timeline (what that one captured at a known instant sits at a known position): a stream
// opened later, or whose first data arrives later, lands where it sounded. Sources of one
// device clock (AcquireSource's `clock`) whose latest blocks ended within 1 ms of each other
// came from one render and their ends are the same frame, exactly; a new source waits up to
// 150 ms for three such matches in a row that agree (a server that fell behind sends two
// renders at once: one match may pair neighbours), holding the timeline so nothing is lost,
// before it is placed by the latest match or, with none, its stamps alone. Sources of other clocks are placed by their stamps (to their precision);
// sources without timestamps start at the drain's read point.
//
// Tracks: with options.tracks > 1 every frame holds the tracks side by side (track t's
// channels from sample t × channels on), each the mix of its own sources, on one timeline.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/drain_wake.h"
#include "core/engine.h"
#include "core/frame_stamp.h"
#include "core/spsc_ring.h"

namespace audiotap {

enum class CaptureState : uint8_t { kWaiting, kRecording };
enum class EndReason : uint8_t { kStopped, kTargetExited, kError };
const char* EndReasonName(EndReason reason);  // "stopped" | "target-exited" | "error"

// Counters of one capture. Frames captured = frames - dropped_frames - (overrun_frames, which
// never reached the timeline).
struct CaptureStats {
  uint64_t frames = 0;          // frames of the timeline: every chunk's, dropped ones included
  uint64_t chunks = 0;          // chunks produced, dropped ones included
  uint64_t dropped_chunks = 0;  // chunks the host had no room for
  uint64_t dropped_frames = 0;  // frames of those chunks (the last chunk may be short)
  uint64_t overrun_frames = 0;  // frames lost because a source's ring was full
  uint32_t sources = 0;         // sources open now (e.g. sink-inputs being monitored)
};

// What the core tells its host. Called on the drain thread, except OnWarning, OnTarget,
// OnServer and OnSilence, which a backend may call from its own control thread. Never called from an audio callback.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnState(CaptureState state) = 0;
  // `pcm` holds 1..chunk_frames whole interleaved frames in the capture's format (only the
  // last chunk of a capture is short); `position` is the timeline index (in frames) of its
  // first frame. Returns false when the host has no room: the chunk is dropped and counted,
  // and the next chunk's position jumps past it.
  virtual bool OnChunk(std::vector<uint8_t>&& pcm, uint64_t position) = 0;
  // `code` is "" or an EngineError code that says what kind of trouble it is (EPERMISSION:
  // the capture is silent for lack of a permission; EBUSY: a stream is held by another capture).
  virtual void OnWarning(const std::string& code, const std::string& message) = 0;
  // A followed target's processes are all gone (`back` false: the recording stays open and
  // fills silence) or one plays again (`back` true). `position` is the timeline's length then,
  // in frames.
  // `track`: the track whose target it is in a multitrack capture, else -1.
  virtual void OnTarget(bool /*back*/, uint64_t /*position*/, int /*track*/) {}
  // The audio server went away (`back` false: the capture fills silence and reconnects) or the
  // capture runs again on a new server (`back` true). `position`: the timeline's length then.
  virtual void OnServer(bool /*back*/, uint64_t /*position*/) {}
  // The capture records only silence for a cause the backend knows while the app plays
  // (`silent` true; `reason` "muted": its streams are muted or at volume 0 in the mixer, Linux;
  // "permission": the system-audio-recording permission is missing, macOS; `message` says what
  // to do), or that cause is gone (`silent` false). `position`: the timeline's length then.
  virtual void OnSilence(bool /*silent*/, const std::string& /*reason*/,
                         const std::string& /*message*/, uint64_t /*position*/) {}
  // The last event of a capture.
  virtual void OnEnd(EndReason reason, const std::string& code, const std::string& message,
                     const CaptureStats& stats) = 0;
};

class CaptureCore {
 public:
  static constexpr int kMaxSources = 32;

  CaptureCore(const CaptureOptions& options, EventSink* sink);
  ~CaptureCore();  // Ends (kStopped) and joins if still running.
  CaptureCore(const CaptureCore&) = delete;
  CaptureCore& operator=(const CaptureCore&) = delete;

  static constexpr uint32_t kMaxTracks = 16;

  const Format& format() const { return format_; }
  uint32_t tracks() const { return tracks_; }
  // Bytes of one frame of a chunk: tracks × channels × bytes per sample.
  uint32_t chunk_frame_bytes() const { return bytes_per_frame_ * tracks_; }
  uint32_t chunk_frames() const { return chunk_frames_; }  // frames per chunk (the last: fewer)

  // Backend control thread (not real-time). Returns a source ID, or -1 when kMaxSources are
  // open. The source delivers interleaved frames of `channels` channels (0: the capture's own;
  // else 1 to kMaxSourceChannels, converted by the law of core/channel_mix.h; others throw
  // EngineError EFORMAT). The source is mixed into track `track` (0 .. tracks() - 1; others
  // throw EFORMAT). `clock`: an ID the sources rendered together share (one device: on Linux
  // a sink's inputs and its monitor), 0 when unknown; timed sources of one clock are placed to
  // the frame (Placement). The first use of a slot allocates its ring; later uses reuse it.
  int AcquireSource(uint32_t channels = 0, uint32_t track = 0, uint64_t clock = 0);
  // The source's producer writes no more. Frames it already wrote are still mixed.
  void ReleaseSource(int id);
  // Any thread: the OS says this source's stream is paused (a corked sink-input, a paused
  // session): it neither holds the mix back nor keeps the timeline from filling silence.
  void SetSourcePaused(int id, bool paused);

  // Audio callback thread: lock-free, allocation-free. `frame_count` whole frames in format()'s
  // encoding with the source's channel count (frame_count * channels * bytes per sample
  // bytes). What does not fit the source's ring (4 s or more) is dropped and counted in
  // overrun_frames. `capture_ns`: when the first of these frames was captured, on the
  // steady clock (CLOCK_MONOTONIC on Linux, as pa_rtclock_now; the host clock elsewhere), in
  // ns; 0 when the OS does not say. A timed source is placed on the timeline by it.
  void Write(int id, const void* frames, size_t frame_count, int64_t capture_ns = 0);
  void WriteSilence(int id, size_t frame_count);
  // After a batch of Writes, from a producer thread that may make a system call (Linux:
  // libpulse's mainloop thread; never a real-time audio callback): wakes the drain thread when
  // the source holds a whole chunk, so that it emits it now instead of at its next timeout (two
  // chunks, at most 100 ms). A no-op where the drain polls (DrainWake::kWakesOnWrite false).
  void Written(int id);

  // Any thread. The timeline starts now even with no source open (the system mix: silence
  // until something plays), instead of waiting for the first source.
  void MarkRecording() { mark_recording_.store(true, std::memory_order_release); }

  // Before Start(): the target plays already (its streams are being opened), so the capture
  // is not waiting for it: no kWaiting state, only kRecording with the first frame. Without
  // this (or MarkRecording) the drain thread first reports kWaiting.
  void MarkTargetPlaying() { target_playing_.store(true, std::memory_order_release); }

  // Any thread. Starts the drain thread; sources may be written before this.
  void Start();
  // Any thread, idempotent: the first call's reason wins. The drain thread flushes everything
  // the sources hold (whole chunks, then one short last chunk), then sends OnEnd and exits.
  void End(EndReason reason, std::string code = "", std::string message = "");
  // Host thread: waits for the drain thread (calls End(kStopped) first if nothing ended yet).
  void Join();

  CaptureStats Stats() const;

  // For the host: to warn from a backend thread.
  EventSink* sink() const { return sink_; }

  // Backend control thread: a followed target went away or came back (EventSink::OnTarget),
  // at the timeline's position now (ClockPosition).
  void NoteTarget(bool back, int track = -1) { sink_->OnTarget(back, ClockPosition(), track); }
  // Backend control thread: the audio server went away or is back (EventSink::OnServer). Gone:
  // at the end of what was captured (CapturedPosition), so the last frames before the loss,
  // still in the rings, are not after it; back: where the clock is.
  void NoteServer(bool back) {
    sink_->OnServer(back, back ? ClockPosition() : CapturedPosition());
  }
  // Backend control thread: the capture is silent for a known cause, or no longer
  // (EventSink::OnSilence).
  // `ago_ns`: how long ago it began (a silence is said once it has lasted): the event's
  // position is then, not now.
  void NoteSilence(bool silent, const std::string& reason, const std::string& message,
                   int64_t ago_ns = 0) {
    const uint64_t now = ClockPosition();
    const uint64_t back =
        ago_ns > 0 ? static_cast<uint64_t>(static_cast<double>(ago_ns) * format_.sample_rate / 1e9) : 0;
    sink_->OnSilence(silent, reason, message, now > back ? now - back : 0);
  }

  // Any thread: the timeline position (frames) of this moment: the frames produced, or, when
  // the timeline is filling silence one hold time behind the clock, where the clock is.
  uint64_t ClockPosition() const;
  // Any thread: the position just past every frame captured so far: ClockPosition, or further
  // while sources (open or released) still hold frames the drain has not mixed yet.
  uint64_t CapturedPosition() const;

 private:
  friend struct CaptureCoreTestPeer;  // test/native/core/capture_core_test.cc drives Pump directly

  enum SlotState : int { kFree = 0, kActive = 1, kReleased = 2 };
  struct Slot {
    SpscRing ring;
    std::atomic<int> state{kFree};
    std::atomic<int64_t> last_write_ns{0};
    std::atomic<bool> paused{false};
    std::atomic<uint32_t> channels{0};         // of the frames in the ring
    std::atomic<uint32_t> bytes_per_frame{0};  // of the frames in the ring
    std::atomic<uint32_t> track{0};
    // The producer's frames so far (its stream's frame index), and its latest timestamp (the
    // end of its latest timed block); never stamped: not timed.
    std::atomic<uint64_t> written_frames{0};
    FrameStamp time;
    // Drain thread only: placed on the timeline (its frame 0 at `start_position`), and the
    // frames of silence still to go before its ring's first frame.
    bool placed = false;
    bool timed = false;
    int64_t start_position = 0;
    size_t pad_frames = 0;
    size_t skip_frames = 0;  // frames of the ring's head that came too late for their place
    int64_t seen_ns = 0;     // when its first frames were seen, waiting to be placed
    int agreeing = 0;        // same-render matches in a row that put frame 0 at match_start
    int64_t match_start = 0;
    uint64_t match_frame = UINT64_MAX;  // the own block end of the last match counted
    uint64_t clock = 0;      // AcquireSource's device clock ID (set while the slot is free)
  };
  struct SlotTime {
    int64_t ns;
    uint64_t frame;
  };

  void DrainLoop();
  void Pump(bool flush);
  // The slot's latest (capture time, frame), consistent; false when it was never timed.
  static bool ReadTime(const Slot& slot, SlotTime* time);
  // A source's first data: where on the timeline its frame 0 goes (see Placement above).
  // False: not yet (a block of the same render as a placed source's is awaited), unless
  // `now_or_never` (the stop's flush: placed by what is known now).
  bool Place(Slot& slot, int64_t now, bool now_or_never = false);
  // Reads `frames` of a slot's frames into `into` (the capture's channel count), after the
  // silence it still owes; returns the frames given (silence included).
  size_t ReadSlot(Slot& slot, uint8_t* into, size_t frames);
  // Mixes track `track`'s sources' next `frames` into `into` (frames × bytes_per_frame_,
  // zeroed); returns how many sources gave frames.
  int MixTrack(uint32_t track, uint8_t* into, size_t frames);
  // frames <= chunk_frames_: the mix buffers hold one chunk. `silence`: the sources are not
  // read (the timeline catching up with the wall clock before a source's first frame).
  void EmitMix(size_t frames, bool silence = false);
  static int64_t NowNs();

  const Format format_;
  const uint32_t bytes_per_frame_;  // of one track
  const uint32_t tracks_;
  const uint32_t chunk_frames_;
  const int64_t chunk_ns_;
  const int64_t hold_ns_;
  const size_t ring_bytes_;
  EventSink* const sink_;

  std::array<Slot, kMaxSources> slots_;
  std::mutex acquire_mutex_;  // control threads only

  // Drain thread state. Each buffer holds exactly one chunk (chunk_frames_ frames), allocated
  // once so that mixing allocates nothing but the chunk handed to the host.
  std::vector<uint8_t> scratch_;   // a second or later source's frames, as read
  std::vector<uint8_t> convert_;   // a source's frames in its own channel count
  std::vector<float> mix_f32_;     // f32le sum, in samples
  std::vector<int32_t> mix_s32_;   // s16le sum, wide so that it clamps once, at the end
  std::vector<uint8_t> track_;     // one track's mix, before it is laid into the chunk
  bool recording_ = false;
  bool filling_ = false;   // the last chunk was silence filled by the clock (nothing live)
  std::atomic<int64_t> anchor_ns_{0};  // when the timeline started (frame 0); 0 before

  std::atomic<uint64_t> frames_{0};
  std::atomic<uint64_t> chunks_{0};
  std::atomic<uint64_t> dropped_chunks_{0};
  std::atomic<uint64_t> dropped_frames_{0};
  std::atomic<uint64_t> overrun_frames_{0};
  std::atomic<uint32_t> sources_{0};

  DrainWake wake_;
  std::atomic<uint64_t> passes_{0};  // the drain thread's passes (Pump calls), for its tests
  std::mutex end_mutex_;
  bool end_requested_ = false;
  EndReason end_reason_ = EndReason::kStopped;
  std::string end_code_;
  std::string end_message_;
  std::thread drain_;
  std::atomic<bool> started_{false};
  std::atomic<bool> mark_recording_{false};
  std::atomic<bool> target_playing_{false};
};

}  // namespace audiotap

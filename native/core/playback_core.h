// The shared real-time core of a playback stream (audio-out): a jitter buffer between the
// host, which pushes chunks as they come, and the OS callback, which pulls exactly what the
// device needs. The host side is the JS thread; the pull side runs on the audio callback
// thread and neither allocates, locks nor blocks.
//
// Playing starts once `buffer_frames` are buffered. When the buffer runs dry the callback
// plays silence, counts an underrun, and gathers `buffer_frames` again before playing on.
// Pushes that do not fit are dropped and counted as overrun frames. Drain() plays out what is
// left without waiting for a full buffer (the end of a stream).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "core/engine.h"
#include "core/spsc_ring.h"

namespace audiotap {

struct PlaybackStats {
  uint64_t played_frames = 0;    // frames of pushed audio handed to the OS
  uint64_t underruns = 0;        // times the buffer (or the OS's after it) ran dry while playing
  uint64_t overrun_frames = 0;   // pushed frames dropped because the buffer was full
  uint64_t buffered_frames = 0;  // frames waiting now
};

class PlaybackCore {
 public:
  explicit PlaybackCore(const PlaybackOptions& options)
      : format_(options.format),
        bytes_per_frame_(options.format.BytesPerFrame()),
        buffer_frames_(options.buffer_frames),
        capacity_frames_(options.capacity_frames ? options.capacity_frames
                                                 : 4 * options.buffer_frames) {
    ring_.Allocate(static_cast<size_t>(capacity_frames_) * bytes_per_frame_);
  }

  // Frames the buffer holds at most (the ring rounds capacity_frames up to a power of two).
  size_t CapacityFrames() const { return ring_.Capacity() / bytes_per_frame_; }

  const Format& format() const { return format_; }

  // Host thread. Returns the frames accepted; the rest are dropped and counted.
  size_t Push(const void* frames, size_t frame_count) {
    // Frame sizes (2, 4, 8 bytes) divide the ring's power-of-two capacity: no partial frames.
    const size_t take = ring_.Write(frames, frame_count * bytes_per_frame_) / bytes_per_frame_;
    if (take < frame_count) overrun_frames_.fetch_add(frame_count - take, std::memory_order_relaxed);
    if (take > 0) draining_.store(false, std::memory_order_relaxed);
    return take;
  }

  // Host thread: play what is buffered even if it is less than the jitter buffer.
  void Drain() { draining_.store(true, std::memory_order_relaxed); }

  // Audio callback thread: fills `frame_count` frames at `out`.
  void Pull(void* out, size_t frame_count) {
    uint8_t* dst = static_cast<uint8_t*>(out);
    const size_t want = frame_count * bytes_per_frame_;
    if (!playing_) {
      if (Buffered() >= buffer_frames_ || (draining_.load(std::memory_order_relaxed) && Buffered() > 0)) {
        playing_ = true;
      } else {
        std::memset(dst, 0, want);
        return;
      }
    }
    const size_t got = ring_.Read(dst, want);
    played_frames_.fetch_add(got / bytes_per_frame_, std::memory_order_relaxed);
    if (got < want) {
      std::memset(dst + got, 0, want - got);
      playing_ = false;
      if (!draining_.load(std::memory_order_relaxed)) {
        underruns_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  // OS thread (not the audio callback necessarily): the OS buffer after ours ran dry, so the
  // device played silence. Counted with the underruns.
  void NoteOutputUnderflow() { underruns_.fetch_add(1, std::memory_order_relaxed); }

  PlaybackStats Stats() const {
    PlaybackStats stats;
    stats.played_frames = played_frames_.load(std::memory_order_relaxed);
    stats.underruns = underruns_.load(std::memory_order_relaxed);
    stats.overrun_frames = overrun_frames_.load(std::memory_order_relaxed);
    stats.buffered_frames = Buffered();
    return stats;
  }

 private:
  size_t Buffered() const { return ring_.Readable() / bytes_per_frame_; }

  const Format format_;
  const uint32_t bytes_per_frame_;
  const uint32_t buffer_frames_;
  const uint32_t capacity_frames_;
  SpscRing ring_;
  bool playing_ = false;  // audio callback thread only
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> played_frames_{0};
  std::atomic<uint64_t> underruns_{0};
  std::atomic<uint64_t> overrun_frames_{0};
};

}  // namespace audiotap

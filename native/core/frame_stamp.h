// One stream's latest timestamp: frame `frame` of the stream was captured at `ns` (steady clock,
// ns). Written by one producer (an audio callback) and read by any other thread, consistent as
// a pair without a lock: a seqlock whose count is odd while the pair changes. Real-time safe
// on both sides (no allocation, no lock, no system call).
//
// The pair's stores are release (plain stores on x86, a barrier-free stlr on ARM), so a reader
// that sees one of them also sees the odd count before it; no fences, which ThreadSanitizer
// cannot check.
#pragma once

#include <atomic>
#include <cstdint>

namespace audiotap {

class FrameStamp {
 public:
  // Never stamped again until Set. Not while the producer may call Set.
  void Reset() { seq_.store(0, std::memory_order_relaxed); }

  // The one producer: frame `frame` was captured at `ns`.
  void Set(uint64_t frame, int64_t ns) {
    const uint32_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    ns_.store(ns, std::memory_order_release);
    frame_.store(frame, std::memory_order_release);
    seq_.store(seq + 2, std::memory_order_release);
  }

  // Any thread: the latest pair. False when never stamped, or when the producer kept
  // rewriting it over 64 tries (then ask again later).
  bool Read(uint64_t* frame, int64_t* ns) const {
    for (int tries = 0; tries < 64; ++tries) {
      const uint32_t before = seq_.load(std::memory_order_acquire);
      if (before == 0) return false;
      if (before & 1) continue;
      *ns = ns_.load(std::memory_order_acquire);
      *frame = frame_.load(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == before) return true;
    }
    return false;
  }

 private:
  std::atomic<uint32_t> seq_{0};  // 0: never stamped; odd: being written
  std::atomic<int64_t> ns_{0};
  std::atomic<uint64_t> frame_{0};
};

}  // namespace audiotap

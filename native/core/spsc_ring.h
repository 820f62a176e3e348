// Single-producer / single-consumer byte ring for the real-time path.
// The producer is an OS audio callback, the consumer the capture core's drain thread. Neither
// side allocates, locks or blocks; the storage is allocated once, before the producer starts.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace audiotap {

class SpscRing {
 public:
  SpscRing() = default;
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Allocates `min_bytes` rounded up to a power of two. Not real-time safe; call before use.
  void Allocate(size_t min_bytes) {
    size_t capacity = 1;
    while (capacity < min_bytes) capacity <<= 1;
    storage_.reset(new uint8_t[capacity]);
    capacity_ = capacity;
    Reset();
  }

  // Only while neither side runs.
  void Reset() {
    head_.store(0, std::memory_order_relaxed);
    tail_.store(0, std::memory_order_relaxed);
  }

  size_t Capacity() const { return capacity_; }

  // Producer side. Copies up to `bytes` and returns how many were copied.
  size_t Write(const void* data, size_t bytes) {
    const size_t head = head_.load(std::memory_order_relaxed);
    const size_t tail = tail_.load(std::memory_order_acquire);
    const size_t n = std::min(bytes, capacity_ - (head - tail));
    const size_t at = head & (capacity_ - 1);
    const size_t first = std::min(n, capacity_ - at);
    std::memcpy(storage_.get() + at, data, first);
    std::memcpy(storage_.get(), static_cast<const uint8_t*>(data) + first, n - first);
    head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Producer side. Writes up to `bytes` zero bytes; returns how many.
  size_t WriteZeros(size_t bytes) {
    const size_t head = head_.load(std::memory_order_relaxed);
    const size_t tail = tail_.load(std::memory_order_acquire);
    const size_t n = std::min(bytes, capacity_ - (head - tail));
    const size_t at = head & (capacity_ - 1);
    const size_t first = std::min(n, capacity_ - at);
    std::memset(storage_.get() + at, 0, first);
    std::memset(storage_.get(), 0, n - first);
    head_.store(head + n, std::memory_order_release);
    return n;
  }

  // Consumer side.
  size_t Readable() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_relaxed);
  }

  // Consumer side. Copies up to `bytes` out and returns how many.
  size_t Read(void* out, size_t bytes) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t head = head_.load(std::memory_order_acquire);
    const size_t n = std::min(bytes, head - tail);
    const size_t at = tail & (capacity_ - 1);
    const size_t first = std::min(n, capacity_ - at);
    std::memcpy(out, storage_.get() + at, first);
    std::memcpy(static_cast<uint8_t*>(out) + first, storage_.get(), n - first);
    tail_.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer side. Skips up to `bytes` without copying them; returns how many.
  size_t Discard(size_t bytes) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    const size_t n = std::min(bytes, head_.load(std::memory_order_acquire) - tail);
    tail_.store(tail + n, std::memory_order_release);
    return n;
  }

 private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_ = 0;
  alignas(64) std::atomic<size_t> head_{0};  // written by the producer
  alignas(64) std::atomic<size_t> tail_{0};  // written by the consumer
};

}  // namespace audiotap

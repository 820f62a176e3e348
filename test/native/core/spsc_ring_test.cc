// Unit tests of native/core/spsc_ring.h, the lock-free byte ring between an audio callback and the
// capture core's drain thread. Built and run by scripts/test-native.sh under ASan + UBSan and
// under TSan (the threaded test is the one TSan is for).
#include <cstdint>
#include <thread>
#include <vector>

#include "check.h"
#include "core/spsc_ring.h"

using audiotap::SpscRing;

namespace {

// Byte i of the test stream: a pattern whose period (251, prime) never lines up with the
// power-of-two capacity, so a byte read from the wrong place shows.
uint8_t StreamByte(size_t i) { return static_cast<uint8_t>(i % 251); }

std::vector<uint8_t> Stream(size_t from, size_t count) {
  std::vector<uint8_t> bytes(count);
  for (size_t i = 0; i < count; ++i) bytes[i] = StreamByte(from + i);
  return bytes;
}

std::vector<uint8_t> ReadAll(SpscRing& ring) {
  std::vector<uint8_t> out(ring.Readable());
  const size_t got = ring.Read(out.data(), out.size());
  out.resize(got);
  return out;
}

void TestAllocateRoundsUp() {
  SpscRing ring;
  EXPECT_EQ(ring.Capacity(), 0u);
  ring.Allocate(1000);
  EXPECT_EQ(ring.Capacity(), 1024u);
  EXPECT_EQ(ring.Readable(), 0u);
  ring.Allocate(1024);
  EXPECT_EQ(ring.Capacity(), 1024u);
  ring.Allocate(1025);
  EXPECT_EQ(ring.Capacity(), 2048u);
  ring.Allocate(1);
  EXPECT_EQ(ring.Capacity(), 1u);
  // The capture core's ring: 4 s of 48 kHz stereo s16 (768000 bytes) rounds up to 1 MiB.
  ring.Allocate(4 * 48000 * 4);
  EXPECT_EQ(ring.Capacity(), size_t{1} << 20);
}

void TestWriteThenRead() {
  SpscRing ring;
  ring.Allocate(64);
  const std::vector<uint8_t> data = Stream(0, 40);
  EXPECT_EQ(ring.Write(data.data(), data.size()), 40u);
  EXPECT_EQ(ring.Readable(), 40u);
  std::vector<uint8_t> out(25);
  EXPECT_EQ(ring.Read(out.data(), out.size()), 25u);
  EXPECT_SAMPLES(out, Stream(0, 25), "first read");
  EXPECT_EQ(ring.Readable(), 15u);
  // Asking for more than is there returns what is there.
  out.assign(100, 0xAA);
  EXPECT_EQ(ring.Read(out.data(), out.size()), 15u);
  out.resize(15);
  EXPECT_SAMPLES(out, Stream(25, 15), "rest");
  EXPECT_EQ(ring.Read(out.data(), out.size()), 0u);
  EXPECT_EQ(ring.Write(data.data(), 0), 0u);
  EXPECT_EQ(ring.Readable(), 0u);
}

void TestFullRingOverrun() {
  SpscRing ring;
  ring.Allocate(64);
  const std::vector<uint8_t> data = Stream(0, 100);
  // A write into a full ring keeps what fits (the oldest bytes stay) and says how much.
  EXPECT_EQ(ring.Write(data.data(), 100), 64u);
  EXPECT_EQ(ring.Readable(), 64u);
  EXPECT_EQ(ring.Write(data.data(), 1), 0u);
  EXPECT_EQ(ring.WriteZeros(8), 0u);
  std::vector<uint8_t> out(10);
  EXPECT_EQ(ring.Read(out.data(), out.size()), 10u);
  const std::vector<uint8_t> more = Stream(64, 20);
  EXPECT_EQ(ring.Write(more.data(), more.size()), 10u);
  EXPECT_EQ(ring.Readable(), 64u);
  EXPECT_SAMPLES(ReadAll(ring), Stream(10, 64), "kept after overrun");
}

// Many writes and reads of sizes that never match the capacity: head and tail cross the end
// of the storage hundreds of times, in every phase, and the stream comes out intact.
void TestWrapAround() {
  SpscRing ring;
  ring.Allocate(16);
  size_t written = 0;
  size_t read = 0;
  bool intact = true;
  for (int round = 0; round < 2000; ++round) {
    const size_t want = 1 + (round * 7) % 16;
    const std::vector<uint8_t> data = Stream(written, want);
    written += ring.Write(data.data(), want);
    const size_t take = 1 + (round * 5) % 13;
    std::vector<uint8_t> out(take);
    const size_t got = ring.Read(out.data(), take);
    for (size_t i = 0; i < got; ++i) intact = intact && out[i] == StreamByte(read + i);
    read += got;
    intact = intact && ring.Readable() == written - read && written - read <= 16;
  }
  EXPECT(intact);
  EXPECT(written > 2000 * 4);
  EXPECT_SAMPLES(ReadAll(ring), Stream(read, written - read), "tail");
}

void TestWriteZeros() {
  SpscRing ring;
  ring.Allocate(32);
  const std::vector<uint8_t> ones(32, 0xFF);
  // Dirty the whole storage, then leave head and tail near its end.
  EXPECT_EQ(ring.Write(ones.data(), 32), 32u);
  std::vector<uint8_t> out(32);
  EXPECT_EQ(ring.Read(out.data(), 28), 28u);
  // Zeros across the end of the storage, between real bytes.
  EXPECT_EQ(ring.WriteZeros(10), 10u);
  const std::vector<uint8_t> data = Stream(0, 6);
  EXPECT_EQ(ring.Write(data.data(), 6), 6u);
  std::vector<uint8_t> want(4, 0xFF);
  want.insert(want.end(), 10, 0);
  want.insert(want.end(), data.begin(), data.end());
  EXPECT_SAMPLES(ReadAll(ring), want, "ones, zeros, data");
  // A full ring takes only what fits.
  EXPECT_EQ(ring.Write(ones.data(), 30), 30u);
  EXPECT_EQ(ring.WriteZeros(5), 2u);
  want.assign(30, 0xFF);
  want.insert(want.end(), 2, 0);
  EXPECT_SAMPLES(ReadAll(ring), want, "zeros after a partial fill");
}

// Discard skips bytes without copying them, across the end of the storage, and never more
// than there are.
void TestDiscard() {
  SpscRing ring;
  ring.Allocate(16);
  const std::vector<uint8_t> data = Stream(0, 12);
  EXPECT_EQ(ring.Write(data.data(), 12), 12u);
  std::vector<uint8_t> out(10);
  EXPECT_EQ(ring.Read(out.data(), 10), 10u);
  const std::vector<uint8_t> more = Stream(12, 12);
  EXPECT_EQ(ring.Write(more.data(), 12), 12u);  // wraps
  EXPECT_EQ(ring.Discard(5), 5u);               // bytes 10..14, across the wrap
  EXPECT_SAMPLES(ReadAll(ring), Stream(15, 9), "after the discard");
  EXPECT_EQ(ring.Discard(3), 0u);  // nothing left
  EXPECT_EQ(ring.Readable(), 0u);
}

void TestReset() {
  SpscRing ring;
  ring.Allocate(16);
  const std::vector<uint8_t> data = Stream(0, 12);
  ring.Write(data.data(), 12);
  ring.Reset();
  EXPECT_EQ(ring.Readable(), 0u);
  EXPECT_EQ(ring.Capacity(), 16u);
  EXPECT_EQ(ring.Write(data.data(), 12), 12u);
  EXPECT_SAMPLES(ReadAll(ring), data, "after reset");
}

// A real producer thread and a consumer thread, each with its own uneven block sizes. Every
// byte arrives once and in order; under TSan this checks the ring's acquire/release pairs.
void TestThreadedProducerConsumer() {
  SpscRing ring;
  ring.Allocate(4096);
  constexpr size_t kTotal = 4u << 20;
  std::thread producer([&ring] {
    size_t written = 0;
    size_t block = 1;
    std::vector<uint8_t> data;
    while (written < kTotal) {
      block = block * 13 % 1021 + 1;
      const size_t want = std::min(block, kTotal - written);
      data = Stream(written, want);
      const size_t n = ring.Write(data.data(), want);
      written += n;
      if (n < want) std::this_thread::yield();  // full: the consumer is behind
    }
  });
  size_t read = 0;
  size_t block = 1;
  bool intact = true;
  std::vector<uint8_t> out(1024);
  while (read < kTotal) {
    block = block * 7 % 1019 + 1;
    const size_t got = ring.Read(out.data(), std::min(block, out.size()));
    for (size_t i = 0; i < got; ++i) intact = intact && out[i] == StreamByte(read + i);
    read += got;
    if (got == 0) std::this_thread::yield();
  }
  producer.join();
  EXPECT(intact);
  EXPECT_EQ(read, kTotal);
  EXPECT_EQ(ring.Readable(), 0u);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"AllocateRoundsUp", TestAllocateRoundsUp},
      {"WriteThenRead", TestWriteThenRead},
      {"FullRingOverrun", TestFullRingOverrun},
      {"WrapAround", TestWrapAround},
      {"WriteZeros", TestWriteZeros},
      {"Discard", TestDiscard},
      {"Reset", TestReset},
      {"ThreadedProducerConsumer", TestThreadedProducerConsumer},
  };
  return check::RunTests(tests, argc, argv);
}

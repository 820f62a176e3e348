#include "backends/macos/pcm_path.h"

#include <CoreAudio/HostTime.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "backends/macos/properties.h"

namespace audiotap {
namespace mac {

int64_t SteadyNsOfHostTime(uint64_t host_time) {
  const uint64_t now = AudioGetCurrentHostTime();
  const int64_t age_ns =
      now >= host_time ? static_cast<int64_t>(AudioConvertHostTimeToNanos(now - host_time))
                       : -static_cast<int64_t>(AudioConvertHostTimeToNanos(host_time - now));
  const int64_t steady_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
  return steady_ns - age_ns;
}

void PcmPath::Prepare(const FormatPlan& plan, CaptureCore* core, int source) {
  plan_ = plan;
  core_ = core;
  source_ = source;
  const uint32_t in_bpf = plan_.input.bytes_per_frame;
  if (plan_.interleave) interleave_.reset(new uint8_t[kBlockFrames * in_bpf]);
  if (plan_.path == FormatPath::kConvert) {
    staging_.Allocate(static_cast<size_t>(kStagingSeconds * plan_.input.sample_rate) * in_bpf);
    convert_in_.reset(new uint8_t[kBlockFrames * in_bpf]);
    convert_out_.reset(new uint8_t[kBlockFrames * plan_.output.bytes_per_frame]);
    const AudioStreamBasicDescription in = AsbdFromLayout(plan_.input);
    const AudioStreamBasicDescription out = AsbdFromLayout(plan_.output);
    Check(AudioConverterNew(&in, &out, &converter_), "AudioConverterNew");
  }
}

void PcmPath::Dispose() {
  if (converter_ != nullptr) AudioConverterDispose(converter_);
  converter_ = nullptr;
}

// ---- IO thread ----------------------------------------------------------------------------

void PcmPath::OnInput(const AudioBuffer* buffers, uint32_t count, const AudioTimeStamp* time) {
  if (buffers == nullptr || count == 0) return;
  const int64_t capture_ns = time != nullptr && (time->mFlags & kAudioTimeStampHostTimeValid)
                                 ? SteadyNsOfHostTime(time->mHostTime)
                                 : 0;
  const PcmLayout& layout = plan_.input;
  if (plan_.interleave) {
    const uint32_t channels = layout.channels;
    const uint32_t sample_bytes = layout.bits_per_channel / 8;
    if (count != channels) {
      io_format_error_.store(true, std::memory_order_relaxed);
      return;
    }
    const size_t frames = buffers[0].mDataByteSize / sample_bytes;
    for (uint32_t c = 0; c < channels; ++c) {
      if (buffers[c].mData == nullptr || buffers[c].mDataByteSize / sample_bytes < frames) {
        io_format_error_.store(true, std::memory_order_relaxed);
        return;
      }
    }
    for (size_t done = 0; done < frames;) {
      const size_t block = std::min(frames - done, kBlockFrames);
      uint8_t* out = interleave_.get();
      for (size_t f = 0; f < block; ++f) {
        for (uint32_t c = 0; c < channels; ++c) {
          const uint8_t* in = static_cast<const uint8_t*>(buffers[c].mData);
          std::memcpy(out, in + (done + f) * sample_bytes, sample_bytes);
          out += sample_bytes;
        }
      }
      Deliver(interleave_.get(), block,
              FrameCaptureNs(done, layout.sample_rate, 0, layout.sample_rate, capture_ns));
      done += block;
    }
    return;
  }
  const AudioBuffer& buffer = buffers[0];
  if (buffer.mNumberChannels != layout.channels || buffer.mData == nullptr) {
    io_format_error_.store(true, std::memory_order_relaxed);
    return;
  }
  Deliver(buffer.mData, buffer.mDataByteSize / layout.bytes_per_frame, capture_ns);
}

void PcmPath::Deliver(const void* frames, size_t frame_count, int64_t capture_ns) {
  if (frame_count == 0) return;
  const size_t bytes = frame_count * plan_.input.bytes_per_frame;
  if (!io_nonzero_.load(std::memory_order_relaxed) && !IsExactSilence(frames, bytes)) {
    io_nonzero_.store(true, std::memory_order_relaxed);
  }
  io_frames_.fetch_add(frame_count, std::memory_order_relaxed);
  if (plan_.path == FormatPath::kDirect) {
    core_->Write(source_, frames, frame_count, capture_ns);
    return;
  }
  // Only whole frames enter the staging ring, so the converter never reads a split frame.
  const size_t bpf = plan_.input.bytes_per_frame;
  const size_t free_bytes = staging_.Capacity() - staging_.Readable();
  const size_t whole = std::min(bytes, free_bytes - free_bytes % bpf);
  if (whole > 0) {
    // Frames dropped below leave the staged count, so a stamp also re-anchors after a drop.
    if (capture_ns != 0) staged_stamp_.Set(staged_frames_, capture_ns);
    staging_.Write(frames, whole);
    staged_frames_ += whole / bpf;
  }
  if (whole < bytes) {
    staging_dropped_frames_.fetch_add((bytes - whole) / bpf, std::memory_order_relaxed);
  }
}

// ---- Control thread -----------------------------------------------------------------------

OSStatus PcmPath::ConverterInput(AudioConverterRef, UInt32* packet_count, AudioBufferList* data,
                                 AudioStreamPacketDescription**, void* user_data) {
  auto* self = static_cast<PcmPath*>(user_data);
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

void PcmPath::ConvertStaged() {
  if (converter_ == nullptr) return;
  const uint32_t out_bpf = plan_.output.bytes_per_frame;
  while (staging_.Readable() >= plan_.input.bytes_per_frame) {
    UInt32 frames = kBlockFrames;
    AudioBufferList output;
    output.mNumberBuffers = 1;
    output.mBuffers[0].mNumberChannels = plan_.output.channels;
    output.mBuffers[0].mDataByteSize = static_cast<UInt32>(kBlockFrames * out_bpf);
    output.mBuffers[0].mData = convert_out_.get();
    const OSStatus status = AudioConverterFillComplexBuffer(converter_, &PcmPath::ConverterInput,
                                                            this, &frames, &output, nullptr);
    if (frames > 0) {
      uint64_t stamp_frame = 0;
      int64_t stamp_ns = 0;
      const int64_t capture_ns =
          staged_stamp_.Read(&stamp_frame, &stamp_ns)
              ? FrameCaptureNs(converted_frames_, plan_.output.sample_rate, stamp_frame,
                               plan_.input.sample_rate, stamp_ns)
              : 0;
      core_->Write(source_, convert_out_.get(), frames, capture_ns);
      converted_frames_ += frames;
    }
    if (status == kStagingEmpty) return;
    if (status != noErr) throw MapOSStatus("AudioConverterFillComplexBuffer", status);
    if (frames == 0) return;
  }
}

}  // namespace mac
}  // namespace audiotap

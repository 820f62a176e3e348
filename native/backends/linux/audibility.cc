#include "backends/linux/audibility.h"

namespace audiotap {
namespace pulse {

void Audibility::Note(uint32_t stream, bool corked, bool muted, double volume, int64_t now_ns) {
  streams_[stream] = Stream{corked, muted, muted || volume < kSilentVolume};
  Recompute(now_ns);
}

void Audibility::Forget(uint32_t stream, int64_t now_ns) {
  streams_.erase(stream);
  Recompute(now_ns);
}

void Audibility::Recompute(int64_t now_ns) {
  // Silent: something plays, and all that plays is silenced. Corked streams play nothing.
  bool playing = false;
  bool audible = false;
  for (const auto& [index, stream] : streams_) {
    if (stream.corked) continue;
    playing = true;
    audible = audible || !stream.silenced;
  }
  // With no stream left (the app's streams ended or its server went away) the cause is gone
  // only once a stream plays again audibly: an app that stops playing is not "unmuted".
  if (!playing) return;
  if (!audible && !silent_) silent_since_ns_ = now_ns;
  silent_ = !audible;
}

bool Audibility::Changed(int64_t now_ns) {
  // Audible again is said at once; silence once it has lasted (or was said already).
  const bool say = silent_ && (reported_ || now_ns - silent_since_ns_ >= kSilentHoldNs);
  if (say == reported_) return false;
  reported_ = say;
  return true;
}

std::string Audibility::Message() const {
  bool muted = false;
  for (const auto& [index, stream] : streams_) muted = muted || (!stream.corked && stream.muted);
  return std::string(muted ? "the app's stream is muted" : "the app's stream is at volume 0") +
         " in the mixer, and a stream is captured after its volume: the recording is silent. "
         "Unmute it or raise its volume; to keep it off the speakers, capture it with mute "
         "instead";
}

}  // namespace pulse
}  // namespace audiotap

// Whether a capture is silent for a known cause: every captured stream that plays is muted,
// or turned down below one 16-bit step, in the mixer. A sink-input's monitor (and a muted
// capture's private sink) takes the stream's audio after its volume, so such a capture records
// only zeros however loud the app plays. Pure logic, no pulse call: fed from sink-input events
// on the loop thread, unit-tested on every OS (test/native/backends/linux/audibility_test.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace audiotap {
namespace pulse {

class Audibility {
 public:
  // Linear gain below one step of 16-bit audio at full scale: a stream this quiet is silence.
  static constexpr double kSilentVolume = 1.0 / 32768;

  // Silence is said once it has lasted this long: a stream is often silent for a moment as it
  // starts (PipeWire: before the session manager has restored its volume), which is no fault.
  static constexpr int64_t kSilentHoldNs = 400000000;

  // A captured stream as it is now, at `now_ns` (a steady clock). `volume`: linear gain (the
  // channels' average).
  void Note(uint32_t stream, bool corked, bool muted, double volume, int64_t now_ns);
  void Forget(uint32_t stream, int64_t now_ns);
  // The streams are gone with their server: the next ones decide (no change is reported for
  // the gap itself).
  void Clear() { streams_.clear(); }

  // True once after the capture became silent (for kSilentHoldNs by `now_ns`), or stopped
  // being so, since the last call.
  bool Changed(int64_t now_ns);
  // As last said by Changed().
  bool silent() const { return reported_; }
  // While silent(): when the silence began (the `now_ns` of the Note or Forget that made it).
  int64_t silent_since_ns() const { return silent_since_ns_; }
  // Why, while silent(): what to tell the user (which of mute and volume, and what to do).
  std::string Message() const;

 private:
  struct Stream {
    bool corked = false;
    bool muted = false;
    bool silenced = false;
  };
  void Recompute(int64_t now_ns);

  std::map<uint32_t, Stream> streams_;
  bool silent_ = false;
  int64_t silent_since_ns_ = 0;  // when silent_ last became true
  bool reported_ = false;  // silent_ as last returned by Changed()
};

}  // namespace pulse
}  // namespace audiotap

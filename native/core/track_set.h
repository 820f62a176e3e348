// A multitrack capture, on every OS: one capture per track (an app, a device's mix, an input
// device), each opened by the backend and feeding one core whose frames hold the tracks side by
// side (core/capture_core.h, Tracks). Streams are placed on the shared timeline by their
// capture times (CaptureCore::Write's capture_ns), so a sound that reaches several tracks lands
// on the same frame in each (to what the OS's timestamps allow: docs/<os>.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {

// What one track's capture tells the whole. Called from the track's own threads.
class TrackHost {
 public:
  virtual ~TrackHost() = default;
  // The track's app exited and is not followed: the track records silence from here.
  virtual void TrackExited(uint32_t track) = 0;
  // The track lost its audio server (`back` false) or runs again on a new one.
  virtual void TrackServer(uint32_t track, bool back) = 0;
};

// Opens one track's capture: `options.target` is the track's, its sources go to the core's
// track `track`; it reports to `host`. Throws EngineError.
using TrackOpener = std::function<std::unique_ptr<CaptureSession>(
    const CaptureOptions& options, uint32_t track, TrackHost* host)>;

// The tracks of one capture. The whole ends (kTargetExited) when every track's app has exited;
// a lost server is said once, when the first track loses it, and its return once, when the last
// runs again. Stop() stops the tracks in the reverse of the order they were opened in.
class TrackSet : public CaptureSession, public TrackHost {
 public:
  explicit TrackSet(CaptureCore* core) : core_(core) {}
  ~TrackSet() override { Stop(); }

  // Worker thread. Opens every track of `options.track_targets` with `open`, or none: throws
  // what the first failing track throws (EngineError; those already open are stopped), and
  // EUNSUPPORTED for a muted capture. A track of a system mix of a named device records that
  // device (`device` of the track's options).
  void Start(const CaptureOptions& options, const TrackOpener& open);
  void Stop() override;

  void TrackExited(uint32_t track) override;
  void TrackServer(uint32_t track, bool back) override;

 private:
  CaptureCore* const core_;
  std::vector<std::unique_ptr<CaptureSession>> tracks_;
  size_t count_ = 0;   // tracks asked for
  std::mutex mutex_;   // exited_, lost_ (tracks report from their own threads)
  size_t exited_ = 0;  // tracks whose app exited, unfollowed
  size_t lost_ = 0;    // tracks without their server now
};

// A started TrackSet of `options.track_targets`. Throws as TrackSet::Start.
std::unique_ptr<CaptureSession> StartTrackSet(const CaptureOptions& options, CaptureCore* core,
                                              const TrackOpener& open);

}  // namespace audiotap

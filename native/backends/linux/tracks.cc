#include "backends/linux/tracks.h"

#include <mutex>
#include <vector>

#include "backends/linux/capture.h"

namespace audiotap {
namespace pulse {
namespace {

class TracksCapture : public CaptureSession, public TrackHost {
 public:
  explicit TracksCapture(CaptureCore* core) : core_(core) {}
  ~TracksCapture() override { Stop(); }

  void Start(const CaptureOptions& options) {
    if (options.EffectiveMuteMode() != MuteMode::kUnmuted) {
      throw EngineError("EUNSUPPORTED",
                        "mute is not available for a multitrack capture; capture its tracks "
                        "unmuted, or mute one app in a capture of its own");
    }
    count_ = options.track_targets.size();
    for (uint32_t track = 0; track < options.track_targets.size(); ++track) {
      CaptureOptions one = options;
      one.target = options.track_targets[track];
      one.track_targets.clear();
      one.tracks = 1;
      if (one.target.kind == TargetKind::kSystem && !one.target.device.empty()) {
        one.device = one.target.device;
      }
      tracks_.push_back(StartTrack(one, core_, track, this));
    }
  }

  void Stop() override {
    // Later tracks first: the reverse of the order they were opened in.
    while (!tracks_.empty()) {
      tracks_.back()->Stop();
      tracks_.pop_back();
    }
  }

  void TrackExited(uint32_t) override {
    std::lock_guard<std::mutex> lock(mutex_);
    // Only app tracks exit; the capture ends when every track has (none records anything).
    if (++exited_ == count_) {
      core_->End(EndReason::kTargetExited, "", "every app of the capture exited");
    }
  }

  void TrackServer(uint32_t, bool back) override {
    // Every track has a connection of its own: one event when the first loses the server, one
    // when the last runs on the new one.
    std::lock_guard<std::mutex> lock(mutex_);
    if (!back) {
      if (lost_++ == 0) core_->NoteServer(false);
    } else if (lost_ > 0 && --lost_ == 0) {
      core_->NoteServer(true);
    }
  }

 private:
  CaptureCore* const core_;
  std::vector<std::unique_ptr<CaptureSession>> tracks_;
  size_t count_ = 0;   // tracks asked for
  std::mutex mutex_;   // exited_, lost_ (tracks report from their connection threads)
  size_t exited_ = 0;  // tracks whose app exited, unfollowed
  size_t lost_ = 0;    // tracks without their server now
};

}  // namespace

std::unique_ptr<CaptureSession> StartTracks(const CaptureOptions& options, CaptureCore* core) {
  auto capture = std::make_unique<TracksCapture>(core);
  capture->Start(options);
  return capture;
}

}  // namespace pulse
}  // namespace audiotap

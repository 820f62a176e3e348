#include "core/track_set.h"

namespace audiotap {

void TrackSet::Start(const CaptureOptions& options, const TrackOpener& open) {
  if (options.EffectiveMuteMode() != MuteMode::kUnmuted) {
    throw EngineError("EUNSUPPORTED",
                      "mute is not available for a multitrack capture; capture its tracks "
                      "unmuted, or mute one app in a capture of its own");
  }
  count_ = options.track_targets.size();
  try {
    for (uint32_t track = 0; track < options.track_targets.size(); ++track) {
      CaptureOptions one = options;
      one.target = options.track_targets[track];
      one.track_targets.clear();
      one.tracks = 1;
      if (one.target.kind == TargetKind::kSystem && !one.target.device.empty()) {
        one.device = one.target.device;
      }
      tracks_.push_back(open(one, track, this));
    }
  } catch (...) {
    Stop();
    throw;
  }
}

void TrackSet::Stop() {
  // Later tracks first: the reverse of the order they were opened in.
  while (!tracks_.empty()) {
    tracks_.back()->Stop();
    tracks_.pop_back();
  }
}

void TrackSet::TrackExited(uint32_t) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Only app tracks exit; the capture ends when every track has (none records anything).
  if (++exited_ == count_) {
    core_->End(EndReason::kTargetExited, "", "every app of the capture exited");
  }
}

void TrackSet::TrackServer(uint32_t, bool back) {
  // Each track may have a server connection of its own: one event when the first loses the
  // server, one when the last runs on the new one.
  std::lock_guard<std::mutex> lock(mutex_);
  if (!back) {
    if (lost_++ == 0) core_->NoteServer(false);
  } else if (lost_ > 0 && --lost_ == 0) {
    core_->NoteServer(true);
  }
}

std::unique_ptr<CaptureSession> StartTrackSet(const CaptureOptions& options, CaptureCore* core,
                                              const TrackOpener& open) {
  auto set = std::make_unique<TrackSet>(core);
  set->Start(options, open);
  return set;
}

}  // namespace audiotap

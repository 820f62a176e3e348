// Which sink-inputs are the capture's target (pulse_capture.h): app selectors resolved to the
// PIDs playing now or names waited for, the follow rules (core/app_follow.h) and child
// processes, the exclusions of a mix minus apps, and the exit timer that ends a capture whose
// app has exited.
#include <set>
#include <string>
#include <vector>

#include "backends/linux/processes.h"
#include "backends/linux/pulse_capture.h"

namespace audiotap {
namespace pulse {

// Turns the app selectors into PIDs now playing, or names being waited for.
void PulseCapture::ResolveApps(const std::vector<SinkInput>& inputs) {
  for (const AppSelector& selector : options_.target.apps) {
    if (selector.pid > 0) {
      if (!ProcessAlive(selector.pid)) {
        throw EngineError("ENOAPP", "no running process has PID " +
                                        std::to_string(selector.pid) +
                                        ". Apps playing now: " + DescribeApps(inputs));
      }
      follow_.Pin(selector.pid);
      continue;
    }
    const std::string lower = AsciiLower(selector.name);
    std::set<int32_t> playing;
    std::vector<SinkInput> matches;
    for (const SinkInput& input : inputs) {
      if (SinkInputNamed(input, lower) && input.pid > 0 && playing.insert(input.pid).second) {
        matches.push_back(input);
      }
    }
    if (matches.size() > 1) {
      throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches " +
                                          std::to_string(matches.size()) +
                                          " apps: " + DescribeApps(matches) +
                                          ". Choose one by PID.");
    }
    if (matches.size() == 1) {
      follow_.Pin(matches[0].pid);
      if (options_.follow) follow_.Follow(lower);
      continue;
    }
    // A followed name may be armed before the app runs: the capture waits for its first
    // stream. Strict, or not followed: the app must run now.
    if ((options_.strict || !options_.follow) && ProcessesNamed(selector.name).empty()) {
      throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                      "\". Apps playing now: " + DescribeApps(inputs) +
                                      ". Start the app first, or check the name.");
    }
    if (options_.follow) {
      follow_.Follow(lower);
    } else {
      follow_.Await(lower);
    }
  }
}

// kSystem minus apps: the selectors of the apps left out of the mix.
void PulseCapture::ExcludeApps() {
  for (const AppSelector& selector : options_.target.exclude) {
    if (selector.pid > 0) {
      exclude_pids_.insert(selector.pid);
    } else {
      exclude_names_.push_back(AsciiLower(selector.name));
    }
  }
}

bool PulseCapture::Wanted(const SinkInput& input) {
  if (options_.target.kind == TargetKind::kSystem) {
    if (exclude_pids_.count(input.pid)) return false;
    for (const std::string& name : exclude_names_) {
      if (SinkInputNamed(input, name)) return false;
    }
    return true;
  }
  // A followed name: every process that plays under it joins, the app's next runs too; a
  // name awaited is pinned to the first process that plays under it (core/app_follow.h).
  const auto named = [&input](const std::string& name) { return SinkInputNamed(input, name); };
  switch (follow_.ClaimProcess(input.pid, named)) {
    case AppFollow::Claim::kBack:
      core_->NoteTarget(true, host_ ? static_cast<int>(track_) : -1);
      return true;
    case AppFollow::Claim::kYes:
      return true;
    case AppFollow::Claim::kNo:
      break;
  }
  // A child of the app plays for it (a browser's audio process, a player's helper).
  return options_.process_tree && input.pid > 0 && DescendantOf(input.pid, follow_.pids());
}

std::string PulseCapture::DescribeTarget() const {
  std::string text;
  for (const AppSelector& app : options_.target.apps) {
    if (!text.empty()) text += ",";
    text += app.pid > 0 ? std::to_string(app.pid) : app.name;
  }
  // Module arguments are split on spaces and quotes: keep the value one word.
  for (char& ch : text) {
    if (ch == ' ' || ch == '"' || ch == '\'' || ch == '=') ch = '_';
  }
  return text;
}

// kApp: every 250 ms, the app's state (core/app_follow.h): gone while followed, or exited,
// which ends the capture.
void PulseCapture::StartExitTimer() {
  timer_ = pa_.pa_context_rttime_new(connection_->context(), pa_.pa_rtclock_now() + 250000,
                                     &PulseCapture::OnTimer, this);
}

void PulseCapture::OnTimer(pa_mainloop_api*, pa_time_event* event, const struct timeval*, void* user) {
  auto* self = static_cast<PulseCapture*>(user);
  if (self->stopped_) return;
  const bool streams = self->mute_sink_ ? !self->mute_sink_->empty() : !self->monitors_.empty();
  const auto name_runs = [](const std::string& name) { return !ProcessesNamed(name).empty(); };
  switch (self->follow_.Tick(&ProcessAlive, name_runs, streams)) {
    case AppFollow::Verdict::kExited:
      if (self->host_) {
        // One track's app: its track records silence from here; the whole ends with the last.
        self->core_->NoteTarget(false, static_cast<int>(self->track_));
        self->host_->TrackExited(self->track_);
      } else {
        self->core_->End(EndReason::kTargetExited, "", "the app exited");
      }
      return;
    case AppFollow::Verdict::kGone:
      self->core_->NoteTarget(false, self->host_ ? static_cast<int>(self->track_) : -1);
      break;
    case AppFollow::Verdict::kNone:
      break;
  }
  self->ReportAudibility();
  self->pa_.pa_context_rttime_restart(self->connection_->context(), event,
                                      self->pa_.pa_rtclock_now() + 250000);
}

}  // namespace pulse
}  // namespace audiotap

// Muted captures: a private null sink per capture. The app's sink-inputs are moved into it, so
// nothing of the app reaches the sink it played to, and its monitor is what the capture
// records. The sink is marked (connection.h: kOwnerProperty and friends) so that one left by a
// crashed process is found and removed by the next capture on the server.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backends/linux/connection.h"
#include "backends/linux/stream_targets.h"
#include "core/capture_core.h"

namespace audiotap {
namespace pulse {

class MuteSink {
 public:
  // `stopped` is the owning capture's flag (set with the lock held): answers that arrive after
  // it is set are ignored. `token` is the owning connection's kInstanceProperty.
  MuteSink(Connection& connection, CaptureCore* core, const bool& stopped, std::string token);
  MuteSink(const MuteSink&) = delete;
  MuteSink& operator=(const MuteSink&) = delete;

  // With the lock held: loads the private sink at `format`'s rate, in the channel count of the
  // sink the app plays on (channels()), marked with the token, this process, `description`
  // (what the capture records) and the sink the app plays on now (where its streams go back
  // after a crash). Throws EngineError.
  void Create(const std::vector<SinkInput>& inputs, const std::set<int32_t>& pids,
              const Format& format, const std::string& description);

  uint32_t index() const { return sink_; }
  uint32_t monitor() const { return monitor_; }
  // The private sink's channel count: that of the sink the app played to (RecordChannels), so
  // the server moves the app's streams there without a downmix.
  uint32_t channels() const { return channels_; }
  // Is `sink_input` one this capture moved (or is moving) into its sink?
  bool Holds(uint32_t sink_input) const { return moved_.count(sink_input) != 0; }
  // No stream is in the sink.
  bool empty() const { return moved_.empty(); }
  // The stored-routing keys of every stream moved so far (StreamRestoreKey), to put back.
  const std::set<std::string>& moved_keys() const { return moved_keys_; }

  // Loop thread: moves a sink-input into the private sink, once the name of the sink it plays
  // on is known (streams go back by name: an index may be reused). A stream that another
  // capture's private sink holds is left there, with a warning.
  void Move(const SinkInput& input);

  // Loop thread: a held sink-input changed; one moved elsewhere by someone else is no longer
  // part of the capture.
  void Changed(const SinkInput& input);

  // Loop thread: a held sink-input went away.
  void Forget(uint32_t sink_input) { moved_.erase(sink_input); }

  // With the lock held (stop): the streams go back where they came from (by sink name), their
  // stored targets are put back on PipeWire (stream_targets.h), and the private sink goes away. The server may be gone already, or not answer: then there is
  // nothing more to undo (a later start removes a sink whose owner has gone).
  void Restore();

 private:
  // With the lock held, after the moves back: waits (at most 5 s) until none of `sink_inputs`
  // plays into the private sink any more. PulseAudio moves a stream before it answers; on
  // PipeWire the answer only writes the stream's target and WirePlumber relinks it later, and
  // a private sink removed before that sent the streams to the default sink (measured under
  // load: both streams that came from a second sink ended on the default one).
  void AwaitLeft(const std::set<uint32_t>& sink_inputs);

  struct MovedFrom {
    uint32_t sink_index;
    std::string sink_name;  // "" until known
  };

  Connection& connection_;
  CaptureCore* const core_;
  const bool& stopped_;
  const std::string token_;
  std::string name_;
  uint32_t module_ = PA_INVALID_INDEX;
  uint32_t sink_ = PA_INVALID_INDEX;
  uint32_t monitor_ = PA_INVALID_INDEX;
  uint32_t channels_ = 2;
  std::map<uint32_t, MovedFrom> moved_;  // by sink-input index
  std::set<std::string> moved_keys_;     // kept after Restore: the server saves on move back
  std::unique_ptr<StreamTargets> targets_;  // on PipeWire: the stored targets, put back
};

// With the lock held: a second muted capture of an app would take its streams out of the
// first one's private sink (which would then record silence). Throws EBUSY naming the first
// when a stream of `pids` plays into another capture's private sink.
void RefuseIfMutedElsewhere(Connection& c, const std::vector<SinkInput>& inputs,
                            const std::set<int32_t>& pids);

// With the lock held: removes private sinks that no connected client owns any more (their
// capture crashed or was killed), after moving their sink-inputs back to the sink they came
// from (or, if that is gone too, the server's default, which is where the server moves them
// when the sink goes away).
void RecoverStraySinks(Connection& c);

}  // namespace pulse
}  // namespace audiotap

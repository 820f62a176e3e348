#include "backends/linux/mute_sink.h"

#include <unistd.h>

#include <optional>
#include <utility>

#include "core/channel_mix.h"

namespace audiotap {
namespace pulse {

MuteSink::MuteSink(Connection& connection, CaptureCore* core, const bool& stopped,
                   std::string token)
    : connection_(connection), core_(core), stopped_(stopped), token_(std::move(token)) {}

void MuteSink::Create(const std::vector<SinkInput>& inputs, const std::set<int32_t>& pids,
                      const Format& format, const std::string& description) {
  const PulseApi& pa = Pulse();
  Connection& c = connection_;
  name_ = "audio_tap_mute_" + token_;
  // Where the app plays now is where its streams go back to after a crash.
  SinkSummary played;
  for (const SinkInput& input : inputs) {
    if (pids.count(input.pid)) {
      played = c.Sink(input.sink);
      break;
    }
  }
  if (played.name.empty()) played = c.Sink("");
  const std::string restore = played.name;
  channels_ = RecordChannels(played.channels);
  const std::string args =
      "sink_name=" + name_ + " rate=" + std::to_string(format.sample_rate) +
      " channels=" + std::to_string(channels_) + " sink_properties=\"" + kOwnerProperty +
      "=" + token_ + " " + kOwnerPidProperty + "=" + std::to_string(getpid()) + " " +
      kCaptureProperty + "=" + description + " " + kRestoreProperty + "=" + restore +
      " device.description=audio-tap-mute\"";
  struct Ctx {
    Connection* self;
    uint32_t index;
  } ctx{&c, PA_INVALID_INDEX};
  c.Await(pa.pa_context_load_module(c.context(), "module-null-sink", args.c_str(),
                                    [](pa_context*, uint32_t index, void* user) {
                                      auto* x = static_cast<Ctx*>(user);
                                      x->index = index;
                                      x->self->Signal();
                                    },
                                    &ctx),
          "creating the private sink for a muted capture");
  if (ctx.index == PA_INVALID_INDEX) {
    throw EngineError("EOS", "could not create a private null sink for the muted capture: " +
                                 c.LastError());
  }
  module_ = ctx.index;
  const SinkSummary sink = c.Sink(name_);
  sink_ = sink.index;
  monitor_ = sink.monitor;
  // On PipeWire, WirePlumber stores every move as the app's preferred sink: remember the
  // targets before moving anything. nullptr on PulseAudio (stream_restore.h does that there).
  targets_ = StreamTargets::Connect(name_);
}

void MuteSink::Move(const SinkInput& input) {
  if (moved_.count(input.index) || input.sink == sink_) return;
  moved_[input.index] = MovedFrom{input.sink, ""};
  if (!input.restore_key.empty()) moved_keys_.insert(input.restore_key);
  const uint32_t sink_input = input.index;
  connection_.QuerySink(input.sink, [this, sink_input](pa_context* context, const pa_sink_info& info) {
    if (stopped_) return;
    auto it = moved_.find(sink_input);
    if (it == moved_.end()) return;
    const PulseApi& pa = Pulse();
    if (pa.pa_proplist_gets(info.proplist, kOwnerProperty)) {
      // Another muted capture holds this stream: taking it would silence that one.
      moved_.erase(it);
      core_->sink()->OnWarning("EBUSY",
                               "a stream of the app is muted by another capture; it is left there");
      return;
    }
    it->second.sink_name = info.name;
    if (targets_) targets_->Remember(sink_input);
    pa_operation* move = pa.pa_context_move_sink_input_by_index(
        context, sink_input, sink_,
        [](pa_context*, int success, void* user) {
          if (!success) {
            static_cast<CaptureCore*>(user)->sink()->OnWarning(
                "", "could not move a stream of the app into the muted capture's private sink");
          }
        },
        core_);
    if (move) pa.pa_operation_unref(move);
  });
}

void MuteSink::Changed(const SinkInput& input) {
  auto moved = moved_.find(input.index);
  if (moved == moved_.end()) return;
  // On PipeWire a stream being relinked (by our move, which WirePlumber carries out after
  // pipewire-pulse answers) plays nowhere for a moment: that is not a move by someone else.
  if (input.sink == PA_INVALID_INDEX) return;
  if (input.sink != sink_ && input.sink != moved->second.sink_index) moved_.erase(moved);
}

void MuteSink::Restore() {
  if (module_ == PA_INVALID_INDEX) return;
  const PulseApi& pa = Pulse();
  Connection& c = connection_;
  try {
    std::set<uint32_t> back;
    for (const auto& [sink_input, from] : moved_) {
      back.insert(sink_input);
      pa_operation* op =
          from.sink_name.empty()
              ? pa.pa_context_move_sink_input_by_index(c.context(), sink_input, from.sink_index,
                                                       OperationDone, &c)
              : pa.pa_context_move_sink_input_by_name(c.context(), sink_input,
                                                      from.sink_name.c_str(), OperationDone, &c);
      c.Await(op, "moving a stream back");
    }
    AwaitLeft(back);
    if (targets_) targets_->PutBack(back);
    c.Await(pa.pa_context_unload_module(c.context(), module_, OperationDone, &c),
            "removing the private sink");
  } catch (const EngineError&) {
  }
  moved_.clear();
  targets_.reset();
  module_ = PA_INVALID_INDEX;
}

void MuteSink::AwaitLeft(const std::set<uint32_t>& sink_inputs) {
  constexpr int kPolls = 250;               // 5 s at most
  constexpr pa_usec_t kPollUsec = 20000;  // 20 ms
  for (int poll = 0; poll < kPolls; ++poll) {
    bool held = false;
    for (const SinkInput& input : connection_.SinkInputs()) {
      if (input.sink == sink_ && sink_inputs.count(input.index)) held = true;
    }
    if (!held) return;
    connection_.Pause(kPollUsec);
  }
}

void RefuseIfMutedElsewhere(Connection& c, const std::vector<SinkInput>& inputs,
                            const std::set<int32_t>& pids) {
  std::map<uint32_t, SinkSummary> private_sinks;
  for (const SinkSummary& sink : c.Sinks()) {
    if (sink.IsPrivate()) private_sinks[sink.index] = sink;
  }
  for (const SinkInput& input : inputs) {
    auto it = private_sinks.find(input.sink);
    if (!pids.count(input.pid) || it == private_sinks.end()) continue;
    throw EngineError(
        "EBUSY", (input.name.empty() ? input.executable : input.name) + " (PID " +
                     std::to_string(input.pid) + ") is already muted by another capture (of " +
                     (it->second.capture.empty() ? "an app" : it->second.capture) +
                     ", process " + (it->second.owner_pid.empty() ? "?" : it->second.owner_pid) +
                     "). Stop that capture first, or record this app without mute.");
  }
}

void RecoverStraySinks(Connection& c) {
  const PulseApi& pa = Pulse();
  std::vector<SinkSummary> strays;
  std::optional<std::set<std::string>> owners;
  for (const SinkSummary& sink : c.Sinks()) {
    if (!sink.IsPrivate()) continue;
    if (!owners) owners = c.ClientInstances();
    if (!owners->count(sink.owner)) strays.push_back(sink);
  }
  if (strays.empty()) return;
  const std::vector<SinkInput> inputs = c.SinkInputs();
  for (const SinkSummary& stray : strays) {
    for (const SinkInput& input : inputs) {
      if (input.sink != stray.index || stray.restore.empty()) continue;
      pa_operation* op = pa.pa_context_move_sink_input_by_name(c.context(), input.index,
                                                               stray.restore.c_str(),
                                                               OperationDone, &c);
      if (op) c.Await(op, "moving a stream back");
    }
    pa_operation* op = pa.pa_context_unload_module(c.context(), stray.module, OperationDone, &c);
    if (op) c.Await(op, "removing a stray private sink");
  }
}

}  // namespace pulse
}  // namespace audiotap

// Linux backend over libpulse's asynchronous API with a threaded main loop. It serves
// PulseAudio and PipeWire's pulse server alike. libpulse is loaded at run time
// (pulse_api.h); capture.h, playback.h and this file's one-shot queries each open their own
// connection (connection.h).
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backends/linux/capture.h"
#include "backends/linux/connection.h"
#include "backends/linux/playback.h"
#include "backends/linux/processes.h"
#include "backends/linux/pulse_api.h"
#include "backends/linux/sink_input.h"
#include "core/app_list.h"
#include "core/engine.h"

namespace audiotap {
namespace pulse {
namespace {

class PulseBackend : public Backend {
 public:
  const char* Name() const override { return "pulse"; }

  std::vector<AppInfo> ListApps() override {
    Connection c;
    std::vector<SinkInput> inputs;
    {
      // Listing changes nothing on the server (stray private sinks are removed by the next
      // capture's start, not by a look).
      LoopLock lock(c);
      inputs = c.SinkInputs();
    }
    std::vector<AppStream> streams;
    streams.reserve(inputs.size());
    for (const SinkInput& input : inputs) {
      AppStream stream;
      stream.pid = input.pid;
      stream.name = input.name;
      stream.executable = input.executable;
      stream.playing = !input.corked;
      stream.volume = input.volume;
      stream.muted = input.muted;
      streams.push_back(std::move(stream));
    }
    return AppsFromStreams(streams);
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    return pulse::StartCapture(options, core);
  }

  std::vector<DeviceInfo> ListDevices() override {
    Connection c;
    LoopLock lock(c);
    const std::string default_sink = c.Sink("").name;
    std::vector<DeviceInfo> devices;
    for (const SinkSummary& sink : c.Sinks()) {
      if (sink.IsPrivate()) continue;  // a muted capture's private sink is no device
      DeviceInfo device;
      device.id = sink.name;
      device.name = sink.description;
      device.is_default = sink.name == default_sink;
      device.output_streams.push_back({0, sink.channels, static_cast<double>(sink.rate)});
      devices.push_back(std::move(device));
    }
    return devices;
  }

  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    return pulse::StartPlayback(options, core);
  }

  void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                    std::optional<bool> mute) override {
    const PulseApi& pa = Pulse();
    Connection c;
    LoopLock lock(c);
    const std::vector<SinkInput> inputs = c.SinkInputs();
    const std::string lower = AsciiLower(app.name);
    std::set<int32_t> pids;
    for (const SinkInput& input : inputs) {
      if (app.pid > 0 ? input.pid == app.pid : SinkInputNamed(input, lower)) pids.insert(input.pid);
    }
    if (pids.empty()) {
      throw EngineError("ENOAPP", "no app with audio streams matches " +
                                      (app.pid > 0 ? "PID " + std::to_string(app.pid)
                                                   : "\"" + app.name + "\"") +
                                      ". Apps playing now: " + DescribeApps(inputs));
    }
    if (pids.size() > 1) {
      std::vector<SinkInput> matches;
      for (const SinkInput& input : inputs) {
        if (pids.count(input.pid)) matches.push_back(input);
      }
      throw EngineError("EAMBIGUOUS", "\"" + app.name + "\" matches several apps: " +
                                          DescribeApps(matches) + ". Choose one by PID.");
    }
    auto done = [](pa_context*, int, void* user) { static_cast<Connection*>(user)->Signal(); };
    for (const SinkInput& input : inputs) {
      if (!pids.count(input.pid)) continue;
      if (volume) {
        pa_cvolume cv;
        pa.pa_cvolume_set(&cv, input.channels, pa.pa_sw_volume_from_linear(*volume));
        c.Await(pa.pa_context_set_sink_input_volume(c.context(), input.index, &cv, done, &c),
                "setting the volume");
      }
      if (mute) {
        c.Await(pa.pa_context_set_sink_input_mute(c.context(), input.index, *mute ? 1 : 0,
                                                  done, &c),
                "setting mute");
      }
    }
  }
};

}  // namespace
}  // namespace pulse

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<pulse::PulseBackend>(); }

}  // namespace audiotap

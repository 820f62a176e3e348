#include "backends/linux/sink_input.h"

#include <cstdlib>
#include <map>

#include "backends/linux/processes.h"
#include "backends/linux/pulse_api.h"
#include "backends/linux/stream_restore.h"

namespace audiotap {
namespace pulse {

SinkInput ToSinkInput(const pa_sink_input_info* info) {
  const PulseApi& pa = Pulse();
  SinkInput input;
  input.index = info->index;
  input.sink = info->sink;
  if (const char* pid = pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_PROCESS_ID)) {
    input.pid = static_cast<int32_t>(std::strtol(pid, nullptr, 10));
  }
  if (const char* name = pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_NAME)) {
    input.name = name;
  }
  if (const char* binary =
          pa.pa_proplist_gets(info->proplist, PA_PROP_APPLICATION_PROCESS_BINARY)) {
    input.executable = binary;
  }
  input.corked = info->corked != 0;
  input.muted = info->mute != 0;
  input.volume = pa.pa_sw_volume_to_linear(pa.pa_cvolume_avg(&info->volume));
  input.channels = info->volume.channels;
  input.restore_key = StreamRestoreKey(info->proplist, "sink-input");
  return input;
}

bool SinkInputNamed(const SinkInput& input, const std::string& lower_name) {
  return AppNameMatches(lower_name, input.name) || AppNameMatches(lower_name, input.executable);
}

std::string DescribeApps(const std::vector<SinkInput>& inputs) {
  std::map<int32_t, std::string> apps;
  for (const SinkInput& input : inputs) {
    if (input.pid > 0) {
      apps[input.pid] = (input.name.empty() ? input.executable : input.name) + " (PID " +
                        std::to_string(input.pid) + ")";
    }
  }
  if (apps.empty()) return "none";
  std::string text;
  for (const auto& [pid, description] : apps) {
    if (!text.empty()) text += ", ";
    text += description;
  }
  return text;
}

}  // namespace pulse
}  // namespace audiotap

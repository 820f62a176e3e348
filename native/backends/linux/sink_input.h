// Sink-inputs: the streams apps play, as this backend sees them.
#pragma once

#include <pulse/pulseaudio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace audiotap {
namespace pulse {

struct SinkInput {
  uint32_t index = PA_INVALID_INDEX;
  uint32_t sink = PA_INVALID_INDEX;
  int32_t pid = 0;
  std::string name;        // application.name
  std::string executable;  // application.process.binary
  bool corked = false;
  bool muted = false;
  double volume = 1.0;     // linear amplitude factor of the channel average
  uint8_t channels = 2;    // channels of the sink-input's volume
  std::string restore_key; // its stored-routing key (StreamRestoreKey), "" when it has none
};

// What a sink-input info says of its app (from the application.* properties), its sink,
// state and volume.
SinkInput ToSinkInput(const pa_sink_input_info* info);

// Does the sink-input's app go by `lower_name` (application name, binary, or its base name)?
bool SinkInputNamed(const SinkInput& input, const std::string& lower_name);

// "name (PID n), …" for each app among `inputs`, for error messages; "none" when empty.
std::string DescribeApps(const std::vector<SinkInput>& inputs);

}  // namespace pulse
}  // namespace audiotap

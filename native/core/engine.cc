// The engine interface's helpers (engine.h) and Backend's default methods: what every backend
// links, whatever it implements.
#include "core/engine.h"

#include <string>

namespace audiotap {

uint32_t BytesPerSample(SampleEncoding encoding) {
  return encoding == SampleEncoding::kS16LE ? 2 : 4;
}

const char* EncodingName(SampleEncoding encoding) {
  return encoding == SampleEncoding::kS16LE ? "s16le" : "f32le";
}

void Backend::SetAppVolume(const AppSelector&, std::optional<double>, std::optional<bool>) {
  throw EngineError("EUNSUPPORTED", std::string("per-app volume is not available on the ") +
                                        Name() + " backend");
}

std::unique_ptr<PlaybackSession> Backend::StartPlayback(const PlaybackOptions&, PlaybackCore*) {
  throw EngineError("EUNSUPPORTED", std::string("audio output is not available on the ") +
                                        Name() + " backend yet");
}

}  // namespace audiotap

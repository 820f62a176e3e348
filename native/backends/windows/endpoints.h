// Audio endpoints (the output and input devices of Settings > System > Sound) and the stream format
// asked of an audio client on one. Control threads only; the caller has joined an apartment.
#pragma once

#include <windows.h>

#include <mmdeviceapi.h>
#include <mmreg.h>

#include <string>

#include "backends/windows/win32.h"
#include "core/engine.h"

namespace audiotap {
namespace win {

// The multimedia device enumerator. Throws EngineError.
ComPtr<IMMDeviceEnumerator> CreateDeviceEnumerator();

// The endpoint of `flow` to open (eRender: an output device; eCapture: an input device such as
// a microphone): the default one for "", else the endpoint whose ID is `device`, else the
// active one whose friendly name equals `device` ignoring case. Throws ENOAPP naming the active
// endpoints when none matches (or `device` is an endpoint of the other direction, or inactive),
// EAMBIGUOUS when several share the name.
ComPtr<IMMDevice> OpenEndpoint(EDataFlow flow, const std::string& device);

inline ComPtr<IMMDevice> OpenRenderEndpoint(const std::string& device) {
  return OpenEndpoint(eRender, device);
}

// The stream format asked of an audio client; AUTOCONVERTPCM makes the engine convert it to
// and from the mix format.
WAVEFORMATEX WaveFormatFor(const Format& format);

// "48000 Hz, 2 channel(s), s16le", for messages.
std::string DescribeFormat(const Format& format);

// Throws EngineError (EFORMAT) for a rate outside 8000..192000 Hz or channels other than 1, 2.
void ValidateFormat(const Format& format);

}  // namespace win
}  // namespace audiotap

// DSP exports of the addon (biquad cascades for the eq node, the soft clipper). Kept apart
// from capture so the DSP can grow without touching the capture glue.
#pragma once

#include <napi.h>

namespace audiotap {

// Adds the DSP classes/functions to the addon's exports.
void InitDsp(Napi::Env env, Napi::Object exports);

}  // namespace audiotap

#include "dsp_binding.h"

namespace audiotap {

void InitDsp(Napi::Env env, Napi::Object exports) {}

}  // namespace audiotap

#include "addon/dsp_binding.h"

#include <stdexcept>
#include <string>

#include "dsp/biquad_cascade.h"
#include "dsp/channel_groups.h"
#include "dsp/soft_clipper.h"

namespace audiotap {

namespace {

uint32_t ChannelsArg(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "channels must be a number from 1 to 32");
  }
  const double channels = info[0].As<Napi::Number>().DoubleValue();
  if (!(channels >= 1 && channels <= kMaxDspChannels) || channels != static_cast<uint32_t>(channels)) {
    throw Napi::RangeError::New(info.Env(), "channels must be a whole number from 1 to 32");
  }
  return static_cast<uint32_t>(channels);
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

uint32_t RampArg(const Napi::CallbackInfo& info, size_t i) {
  const double ramp = NumberArg(info, i, "rampFrames");
  if (!(ramp >= 0 && ramp <= 1e7)) {
    throw Napi::RangeError::New(info.Env(), "rampFrames must be 0..10000000");
  }
  return static_cast<uint32_t>(ramp);
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Buffer");
  }
  return info[i].As<Napi::Uint8Array>();
}

// process(input: Buffer, output: Buffer, encoding: 0 = s16le | 1 = f32le) -> number of
// non-finite input samples replaced by 0. output may be input.
template <typename Processor>
Napi::Value ProcessPcm(const Napi::CallbackInfo& info, Processor& processor, uint32_t channels) {
  Napi::Uint8Array input = BytesArg(info, 0, "input");
  Napi::Uint8Array output = BytesArg(info, 1, "output");
  const double encoding_arg = NumberArg(info, 2, "encoding");
  if (encoding_arg != 0 && encoding_arg != 1) {
    throw Napi::RangeError::New(info.Env(), "encoding must be 0 (s16le) or 1 (f32le)");
  }
  const auto encoding = encoding_arg == 0 ? SampleEncoding::kS16LE : SampleEncoding::kF32LE;
  const size_t frame_bytes = channels * (encoding == SampleEncoding::kS16LE ? 2 : 4);
  if (input.ByteLength() % frame_bytes != 0) {
    throw Napi::RangeError::New(info.Env(), "input length is not a whole number of frames");
  }
  if (output.ByteLength() < input.ByteLength()) {
    throw Napi::RangeError::New(info.Env(), "output is shorter than input");
  }
  const size_t bad = processor.Process(input.Data(), output.Data(),
                                       input.ByteLength() / frame_bytes, encoding);
  return Napi::Number::New(info.Env(), static_cast<double>(bad));
}

// JavaScript: new EqProcessor(channels), 1 to 32 interleaved channels. One per stream.
class EqProcessor : public Napi::ObjectWrap<EqProcessor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EqProcessor",
                       {InstanceMethod<&EqProcessor::SetTarget>("setTarget"),
                        InstanceMethod<&EqProcessor::Process>("process"),
                        InstanceMethod<&EqProcessor::Reset>("reset"),
                        InstanceAccessor<&EqProcessor::Ramping>("ramping")});
  }

  explicit EqProcessor(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<EqProcessor>(info), cascade_(ChannelsArg(info)) {}

 private:
  // setTarget(coefficients: Float64Array of stages*5 normalised b0 b1 b2 a1 a2,
  //           gain: linear preamp, rampFrames: frames to move over, 0 = at once)
  void SetTarget(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      throw Napi::TypeError::New(info.Env(), "coefficients must be a Float64Array");
    }
    Napi::Float64Array coefficients = info[0].As<Napi::Float64Array>();
    if (coefficients.ElementLength() % BiquadCascade::kCoefficients != 0) {
      throw Napi::RangeError::New(info.Env(), "coefficients length must be a multiple of 5");
    }
    const double gain = NumberArg(info, 1, "gain");
    const uint32_t ramp = RampArg(info, 2);
    try {
      cascade_.SetTarget(coefficients.Data(),
                         coefficients.ElementLength() / BiquadCascade::kCoefficients, gain, ramp);
    } catch (const std::invalid_argument& e) {
      throw Napi::RangeError::New(info.Env(), e.what());
    }
  }

  Napi::Value Process(const Napi::CallbackInfo& info) {
    return ProcessPcm(info, cascade_, cascade_.channels());
  }

  void Reset(const Napi::CallbackInfo&) { cascade_.Reset(); }

  Napi::Value Ramping(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), cascade_.ramping());
  }

  ChannelGroups<BiquadCascade> cascade_;
};

// JavaScript: new SoftClipProcessor(channels), 1 to 32 interleaved channels. One per stream.
class SoftClipProcessor : public Napi::ObjectWrap<SoftClipProcessor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SoftClipProcessor",
                       {InstanceMethod<&SoftClipProcessor::SetTarget>("setTarget"),
                        InstanceMethod<&SoftClipProcessor::Process>("process"),
                        InstanceMethod<&SoftClipProcessor::Reset>("reset")});
  }

  explicit SoftClipProcessor(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<SoftClipProcessor>(info),
        channels_(ChannelsArg(info)),
        clipper_(channels_) {}

 private:
  // setTarget(gain: linear, threshold: linear full scale, ceiling: linear full scale,
  //           rampFrames)
  void SetTarget(const Napi::CallbackInfo& info) {
    const double gain = NumberArg(info, 0, "gain");
    const double threshold = NumberArg(info, 1, "threshold");
    const double ceiling = NumberArg(info, 2, "ceiling");
    const uint32_t ramp = RampArg(info, 3);
    try {
      clipper_.SetTarget(gain, threshold, ceiling, ramp);
    } catch (const std::invalid_argument& e) {
      throw Napi::RangeError::New(info.Env(), e.what());
    }
  }

  Napi::Value Process(const Napi::CallbackInfo& info) {
    return ProcessPcm(info, clipper_, channels_);
  }

  void Reset(const Napi::CallbackInfo&) { clipper_.Reset(); }

  uint32_t channels_;
  SoftClipper clipper_;
};

}  // namespace

void InitDsp(Napi::Env env, Napi::Object exports) {
  exports.Set("EqProcessor", EqProcessor::Define(env));
  exports.Set("SoftClipProcessor", SoftClipProcessor::Define(env));
}

}  // namespace audiotap

#include "addon/arguments.h"

#include "core/capture_core.h"

namespace audiotap {

[[noreturn]] void ThrowType(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

AppSelector ParseSelector(Napi::Env env, Napi::Value value, const char* what) {
  AppSelector selector;
  if (value.IsNumber()) {
    selector.pid = value.As<Napi::Number>().Int32Value();
    if (selector.pid <= 0) ThrowType(env, std::string(what) + ": a PID must be a positive integer");
  } else if (value.IsString()) {
    selector.name = value.As<Napi::String>().Utf8Value();
    if (selector.name.empty()) ThrowType(env, std::string(what) + ": an app name must not be empty");
  } else {
    ThrowType(env, std::string(what) + ": expected a PID (number) or an app name (string)");
  }
  return selector;
}

std::vector<AppSelector> ParseSelectors(Napi::Env env, Napi::Value value, const char* what) {
  std::vector<AppSelector> selectors;
  if (value.IsUndefined() || value.IsNull()) return selectors;
  if (!value.IsArray()) ThrowType(env, std::string(what) + ": expected an array");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    selectors.push_back(ParseSelector(env, array.Get(i), what));
  }
  return selectors;
}

uint32_t ParseUint(Napi::Env env, Napi::Object object, const char* key, uint32_t fallback,
                   uint32_t min, uint32_t max) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) ThrowType(env, std::string(key) + ": expected a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max) || number != static_cast<uint32_t>(number)) {
    ThrowType(env, std::string(key) + ": expected an integer from " + std::to_string(min) +
                       " to " + std::to_string(max));
  }
  return static_cast<uint32_t>(number);
}

Format ParseFormat(Napi::Env env, Napi::Object object) {
  Format format;
  format.sample_rate = ParseUint(env, object, "sampleRate", 48000, 8000, 192000);
  format.channels = ParseUint(env, object, "channels", 2, 1, 2);
  Napi::Value encoding = object.Get("encoding");
  if (!encoding.IsUndefined()) {
    const std::string name = encoding.ToString().Utf8Value();
    if (name == "s16le") {
      format.encoding = SampleEncoding::kS16LE;
    } else if (name == "f32le") {
      format.encoding = SampleEncoding::kF32LE;
    } else {
      ThrowType(env, "encoding: expected \"s16le\" or \"f32le\"");
    }
  }
  return format;
}

namespace {

// One target: "app", "system", "input" or "tap"; `field` names it in errors.
Target ParseTarget(Napi::Env env, Napi::Value value, const std::string& field) {
  if (!value.IsObject()) ThrowType(env, field + ": expected an object");
  Napi::Object object = value.As<Napi::Object>();
  Target target;
  const std::string kind = object.Get("kind").ToString().Utf8Value();
  if (kind == "app") {
    target.kind = TargetKind::kApp;
    target.apps = ParseSelectors(env, object.Get("apps"), (field + ".apps").c_str());
    if (target.apps.empty()) ThrowType(env, field + ".apps: name at least one app");
  } else if (kind == "system") {
    target.kind = TargetKind::kSystem;
    target.exclude = ParseSelectors(env, object.Get("exclude"), (field + ".exclude").c_str());
  } else if (kind == "input") {
    target.kind = TargetKind::kInput;
  } else if (kind == "tap") {
    target.kind = TargetKind::kTap;
    target.tap_uid = object.Get("tapUid").ToString().Utf8Value();
  } else {
    ThrowType(env, field + ".kind: expected \"app\", \"system\", \"input\" or \"tap\"");
  }
  Napi::Value device = object.Get("device");
  if (device.IsString()) target.device = device.As<Napi::String>().Utf8Value();
  return target;
}

}  // namespace

CaptureOptions ParseCaptureOptions(Napi::Env env, Napi::Object object) {
  CaptureOptions options;
  Napi::Value target_value = object.Get("target");
  if (!target_value.IsObject()) ThrowType(env, "target: expected an object");
  Napi::Object target = target_value.As<Napi::Object>();
  if (target.Get("kind").ToString().Utf8Value() == "tracks") {
    Napi::Value tracks = target.Get("tracks");
    if (!tracks.IsArray()) ThrowType(env, "target.tracks: expected an array of targets");
    Napi::Array list = tracks.As<Napi::Array>();
    if (list.Length() < 1 || list.Length() > CaptureCore::kMaxTracks) {
      ThrowType(env, "target.tracks: expected 1 to " + std::to_string(CaptureCore::kMaxTracks) +
                         " targets");
    }
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const std::string field = "target.tracks[" + std::to_string(i) + "]";
      Target track = ParseTarget(env, list.Get(i), field);
      if (track.kind == TargetKind::kTap) ThrowType(env, field + ": a tap is not a track");
      options.track_targets.push_back(std::move(track));
    }
    options.tracks = static_cast<uint32_t>(options.track_targets.size());
  } else {
    options.target = ParseTarget(env, target_value, "target");
  }
  options.format = ParseFormat(env, object);
  options.chunk_frames = ParseUint(env, object, "chunkFrames", options.format.sample_rate / 50,
                                   16, options.format.sample_rate);
  options.queue_chunks = ParseUint(env, object, "queueChunks", 50, 1, 100000);
  Napi::Value mute = object.Get("mute");
  options.mute = mute.IsBoolean() && mute.As<Napi::Boolean>().Value();
  Napi::Value mute_mode = object.Get("muteMode");
  if (!mute_mode.IsUndefined()) {
    const std::string name = mute_mode.ToString().Utf8Value();
    if (name == "unmuted") {
      options.mute_mode = MuteMode::kUnmuted;
    } else if (name == "muted") {
      options.mute_mode = MuteMode::kMuted;
    } else if (name == "muted-when-tapped") {
      options.mute_mode = MuteMode::kMutedWhenTapped;
    } else {
      ThrowType(env, "muteMode: expected \"unmuted\", \"muted\" or \"muted-when-tapped\"");
    }
  }
  Napi::Value device_stream = object.Get("deviceStream");
  if (!device_stream.IsUndefined()) {
    if (!device_stream.IsNumber()) ThrowType(env, "deviceStream: expected a stream index");
    options.device_stream = device_stream.As<Napi::Number>().Int32Value();
    if (options.device_stream < -1) ThrowType(env, "deviceStream: expected -1 (all) or a stream index");
  }
  Napi::Value private_tap = object.Get("privateTap");
  if (private_tap.IsBoolean()) options.private_tap = private_tap.As<Napi::Boolean>().Value();
  Napi::Value process_tree = object.Get("processTree");
  if (process_tree.IsBoolean()) options.process_tree = process_tree.As<Napi::Boolean>().Value();
  Napi::Value follow = object.Get("follow");
  if (follow.IsBoolean()) options.follow = follow.As<Napi::Boolean>().Value();
  Napi::Value strict = object.Get("strict");
  if (strict.IsBoolean()) options.strict = strict.As<Napi::Boolean>().Value();
  Napi::Value server_timeout = object.Get("serverTimeoutMs");
  if (server_timeout.IsNumber()) {
    const double ms = server_timeout.As<Napi::Number>().DoubleValue();
    if (!(ms >= 0 && ms <= 86400000.0)) ThrowType(env, "serverTimeoutMs: expected 0 to 86400000");
    options.server_timeout_ms = static_cast<uint32_t>(ms);
  }
  Napi::Value device = object.Get("device");
  if (device.IsString()) options.device = device.As<Napi::String>().Utf8Value();
  return options;
}

PlaybackOptions ParsePlaybackOptions(Napi::Env env, Napi::Object object) {
  PlaybackOptions options;
  options.format = ParseFormat(env, object);
  options.buffer_frames = ParseUint(env, object, "bufferFrames", options.format.sample_rate / 10,
                                    1, options.format.sample_rate * 10);
  options.capacity_frames = ParseUint(env, object, "capacityFrames", 4 * options.buffer_frames,
                                      options.buffer_frames, options.format.sample_rate * 60);
  Napi::Value device = object.Get("device");
  if (device.IsString()) options.device = device.As<Napi::String>().Utf8Value();
  return options;
}

}  // namespace audiotap

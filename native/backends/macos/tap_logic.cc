#include "backends/macos/tap_logic.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/app_list.h"

namespace audiotap {

namespace {

constexpr uint32_t FourCC(const char (&code)[5]) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(code[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(code[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(code[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(code[3]));
}

std::string Lower(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return !a.empty() && a.size() == b.size() && Lower(a) == Lower(b);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The outermost "X.app" component of `path`: {bundle path, "X"}; empty when there is none.
std::pair<std::string, std::string> OutermostBundle(const std::string& path) {
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string component = path.substr(start, end - start);
    if (component.size() > 4 && component.compare(component.size() - 4, 4, ".app") == 0) {
      return {path.substr(0, end), component.substr(0, component.size() - 4)};
    }
    start = end + 1;
  }
  return {};
}

std::string Describe(const ProcessEntry& entry) {
  std::string text = std::to_string(entry.pid) + " " + entry.name;
  if (!entry.bundle_id.empty()) text += " (" + entry.bundle_id + ")";
  return text;
}

// "Music, Google Chrome, mpv" (each name once, at most 12), or "none".
std::string ListNames(const std::vector<ProcessEntry>& processes) {
  std::vector<std::string> names;
  for (const ProcessEntry& entry : processes) {
    if (std::find(names.begin(), names.end(), entry.name) == names.end()) {
      names.push_back(entry.name);
    }
  }
  if (names.empty()) return "none";
  std::string text;
  for (size_t i = 0; i < names.size() && i < 12; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > 12) text += ", ...";
  return text;
}

// AudioUnit errors are negative numbers, not four-character codes.
constexpr uint32_t kAudioUnitInvalidProperty = static_cast<uint32_t>(-10879);
constexpr uint32_t kAudioUnitFailedInitialization = static_cast<uint32_t>(-10875);
constexpr uint32_t kAudioUnitFormatNotSupported = static_cast<uint32_t>(-10868);
constexpr uint32_t kAudioUnitInvalidPropertyValue = static_cast<uint32_t>(-10851);

const char* StatusMeaning(int32_t status) {
  switch (static_cast<uint32_t>(status)) {
    case kAudioUnitInvalidProperty: return "the audio unit has no such property";
    case kAudioUnitFailedInitialization: return "the audio unit could not be initialised";
    case kAudioUnitFormatNotSupported: return "the audio unit does not support this format";
    case kAudioUnitInvalidPropertyValue: return "invalid property value for the audio unit";
    case FourCC("nope"): return "not permitted";
    case FourCC("unop"): return "unsupported operation";
    case FourCC("!obj"): return "the audio object no longer exists";
    case FourCC("!dev"): return "bad device";
    case FourCC("who?"): return "unknown property";
    case FourCC("!siz"): return "bad property size";
    case FourCC("stop"): return "the audio hardware is not running";
    case FourCC("!dat"): return "unsupported stream format";
    case FourCC("fmt?"): return "format not supported by AudioConverter";
    case FourCC("!stt"): return "invalid stream type";
    case FourCC("!isr"): return "invalid input sample rate";
    case FourCC("!osr"): return "invalid output sample rate";
    case FourCC("!hog"): return "the device is in exclusive (hog) use by another process";
    case FourCC("what"): return "unspecified Core Audio error";
    case FourCC("nsup"): return "device does not support the requested operation";
    default: return nullptr;
  }
}

}  // namespace

// ---- OSStatus -----------------------------------------------------------------------------

std::string OSStatusText(int32_t status) {
  const uint32_t code = static_cast<uint32_t>(status);
  char fourcc[4] = {static_cast<char>(code >> 24), static_cast<char>(code >> 16),
                    static_cast<char>(code >> 8), static_cast<char>(code)};
  bool printable = true;
  for (char c : fourcc) printable = printable && c >= 0x20 && c <= 0x7e;
  if (!printable) return std::to_string(status);
  return "'" + std::string(fourcc, 4) + "' (" + std::to_string(status) + ")";
}

EngineError MapOSStatus(const std::string& call, int32_t status) {
  std::string message = call + " failed with status " + OSStatusText(status);
  if (const char* meaning = StatusMeaning(status)) message += std::string(": ") + meaning;
  switch (static_cast<uint32_t>(status)) {
    case FourCC("nope"):
      return EngineError("EPERMISSION",
                         message + ". macOS refused the tap: grant system-audio-recording "
                                   "permission to the app running Node-RED (see the README's "
                                   "macOS section)");
    case FourCC("unop"):
      return EngineError("EUNSUPPORTED", message);
    case FourCC("!dat"):
    case FourCC("fmt?"):
    case FourCC("!stt"):
    case FourCC("!isr"):
    case FourCC("!osr"):
    case kAudioUnitFormatNotSupported:
      return EngineError("EFORMAT", message);
    default:
      return EngineError("EOS", message);
  }
}

// ---- Process objects and app selectors ----------------------------------------------------

AppNames AppNamesFromPath(const std::string& executable_path) {
  AppNames names;
  names.executable = BaseName(executable_path);
  const auto bundle = OutermostBundle(executable_path);
  names.name = bundle.second.empty() ? names.executable : bundle.second;
  names.bundle_path = bundle.first;
  return names;
}

bool NameMatches(const std::string& selector_name, const std::string& name,
                 const std::string& executable, const std::string& bundle_id) {
  return AppNameMatches(selector_name, name) || AppNameMatches(selector_name, executable) ||
         EqualsIgnoreCase(selector_name, bundle_id);
}

std::vector<size_t> MatchSelector(const AppSelector& selector,
                                  const std::vector<ProcessEntry>& processes) {
  std::vector<size_t> matches;
  if (selector.pid > 0) {
    for (size_t i = 0; i < processes.size(); ++i) {
      if (processes[i].pid == selector.pid) matches.push_back(i);
    }
    if (matches.empty()) {
      throw EngineError("ENOAPP", "process " + std::to_string(selector.pid) +
                                      " has no Core Audio process object: it is not running "
                                      "or has not opened audio output yet");
    }
    matches.resize(1);
    return matches;
  }
  if (selector.name.empty()) {
    throw EngineError("ENOAPP", "an app selector needs a pid > 0 or a non-empty name");
  }
  for (size_t i = 0; i < processes.size(); ++i) {
    const ProcessEntry& entry = processes[i];
    if (NameMatches(selector.name, entry.name, entry.executable, entry.bundle_id)) {
      matches.push_back(i);
    }
  }
  if (matches.empty()) {
    throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                    "\" (names match the app name, executable name or bundle "
                                    "ID). Apps with audio now: " + ListNames(processes));
  }
  const ProcessEntry& first = processes[matches.front()];
  bool one_app = true;
  for (size_t index : matches) {
    const ProcessEntry& entry = processes[index];
    const bool same = !first.bundle_path.empty() ? entry.bundle_path == first.bundle_path
                      : !first.bundle_id.empty()    ? entry.bundle_path.empty() &&
                                                       entry.bundle_id == first.bundle_id
                                                    : matches.size() == 1;
    one_app = one_app && same;
  }
  if (!one_app) {
    std::string list;
    for (size_t index : matches) {
      if (!list.empty()) list += ", ";
      list += Describe(processes[index]);
    }
    throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches several apps: " + list +
                                        "; select one by pid or bundle ID");
  }
  return matches;
}

std::vector<uint32_t> ResolveProcessObjects(const std::vector<AppSelector>& selectors,
                                            const std::vector<ProcessEntry>& processes) {
  std::vector<uint32_t> objects;
  for (const AppSelector& selector : selectors) {
    for (size_t index : MatchSelector(selector, processes)) {
      const uint32_t id = processes[index].object_id;
      if (std::find(objects.begin(), objects.end(), id) == objects.end()) objects.push_back(id);
    }
  }
  return objects;
}

// ---- Tap description ----------------------------------------------------------------------

TapPlan PlanTap(const CaptureOptions& options, const std::vector<uint32_t>& process_objects) {
  TapPlan plan;
  switch (options.target.kind) {
    case TargetKind::kApp:
      if (process_objects.empty()) {
        throw EngineError("ENOAPP", "an app capture needs at least one app");
      }
      plan.exclusive = false;
      break;
    case TargetKind::kSystem:
      plan.exclusive = true;
      break;
    case TargetKind::kTap:
      throw EngineError("EUNSUPPORTED", "an existing tap is attached by its UID, not planned");
    case TargetKind::kInput:
      throw EngineError("EUNSUPPORTED", "an input device is not tapped");
  }
  plan.processes = process_objects;
  plan.mono = options.format.channels == 1;
  plan.mixdown = true;
  plan.device_uid = options.device;
  if (options.device_stream >= 0) {
    if (options.device.empty()) {
      throw EngineError("EUNSUPPORTED",
                        "a device stream (" + std::to_string(options.device_stream) +
                            ") needs a device UID; list devices to find one");
    }
    plan.stream = options.device_stream;
    plan.mixdown = false;
    plan.mono = false;
  }
  plan.mute = options.EffectiveMuteMode();
  plan.private_tap = options.private_tap;
  return plan;
}

// ---- Format negotiation -------------------------------------------------------------------

PcmLayout LayoutOf(const Format& format) {
  PcmLayout layout;
  layout.sample_rate = format.sample_rate;
  layout.channels = format.channels;
  layout.bits_per_channel = BytesPerSample(format.encoding) * 8;
  layout.bytes_per_frame = format.BytesPerFrame();
  layout.linear_pcm = true;
  layout.is_float = format.encoding == SampleEncoding::kF32LE;
  layout.is_signed_integer = !layout.is_float;
  layout.is_packed = true;
  return layout;
}

FormatPlan NegotiateFormat(const PcmLayout& tap, const Format& asked) {
  if (asked.sample_rate < 8000 || asked.sample_rate > 192000) {
    throw EngineError("EFORMAT", "sample rate " + std::to_string(asked.sample_rate) +
                                     " Hz is outside 8000..192000 Hz");
  }
  if (asked.channels < 1 || asked.channels > 2) {
    throw EngineError("EFORMAT",
                      std::to_string(asked.channels) + " channels asked; use 1 or 2");
  }
  const std::string tap_text = "the tap delivers " + std::to_string(tap.channels) + " ch " +
                               std::to_string(tap.bits_per_channel) + "-bit " +
                               (tap.is_float ? "float" : "integer") + " at " +
                               std::to_string(static_cast<int64_t>(tap.sample_rate)) + " Hz";
  if (!tap.linear_pcm) {
    throw EngineError("EFORMAT", "the tap's format is not linear PCM; cannot convert it");
  }
  const bool bits_ok = tap.is_float ? (tap.bits_per_channel == 32 || tap.bits_per_channel == 64)
                                    : (tap.bits_per_channel == 8 || tap.bits_per_channel == 16 ||
                                       tap.bits_per_channel == 24 || tap.bits_per_channel == 32);
  const uint32_t sample_bytes = tap.bits_per_channel / 8;
  const uint32_t expected_frame_bytes =
      tap.non_interleaved ? sample_bytes : sample_bytes * tap.channels;
  if (!bits_ok || tap.channels == 0 || tap.channels > 64 || tap.sample_rate < 1000 ||
      tap.sample_rate > 768000 || !tap.is_packed || tap.bytes_per_frame != expected_frame_bytes) {
    throw EngineError("EFORMAT", tap_text + " (" + std::to_string(tap.bytes_per_frame) +
                                     " bytes per frame" + (tap.is_packed ? "" : ", unpacked") +
                                     "), which this backend does not read");
  }

  FormatPlan plan;
  plan.output = LayoutOf(asked);
  plan.input = tap;
  plan.interleave = tap.non_interleaved && tap.channels > 1;
  if (tap.non_interleaved) {
    plan.input.non_interleaved = false;
    plan.input.bytes_per_frame = sample_bytes * tap.channels;
  }
  const bool same = tap.is_float && tap.bits_per_channel == 32 && !tap.is_big_endian &&
                    asked.encoding == SampleEncoding::kF32LE &&
                    tap.sample_rate == static_cast<double>(asked.sample_rate) &&
                    tap.channels == asked.channels;
  plan.path = same ? FormatPath::kDirect : FormatPath::kConvert;
  return plan;
}

// ---- Permission ---------------------------------------------------------------------------

bool IsExactSilence(const void* data, size_t bytes) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    acc |= word;
  }
  for (; i < bytes; ++i) acc |= p[i];
  return acc == 0;
}

bool SilenceProbe::Update(uint64_t frames, bool any_nonzero, bool target_playing) {
  if (audible_ || suspected_) return false;
  if (any_nonzero) {
    audible_ = true;
    return false;
  }
  if (target_playing) silent_frames_ += frames;
  if (threshold_frames_ > 0 && silent_frames_ >= threshold_frames_) {
    suspected_ = true;
    return true;
  }
  return false;
}

PermissionHost FindPermissionHost(const std::vector<std::string>& executable_paths) {
  PermissionHost host;
  for (const std::string& path : executable_paths) {
    const auto bundle = OutermostBundle(path);
    if (!bundle.second.empty()) {
      host.name = bundle.second;
      host.path = bundle.first;
      host.app_bundle = true;
      return host;
    }
  }
  if (!executable_paths.empty()) {
    host.path = executable_paths.front();
    host.name = BaseName(host.path);
  }
  if (host.name.empty()) host.name = "node";
  return host;
}

namespace {

// "Terminal (/System/Applications/Utilities/Terminal.app)", or for a service "the node
// executable at /usr/local/bin/node (the service running Node-RED)".
std::string HostText(const PermissionHost& host) {
  return host.app_bundle ? host.name + " (" + host.path + ")"
                         : "the " + host.name + " executable" +
                               (host.path.empty() ? std::string() : " at " + host.path) +
                               " (the service running Node-RED)";
}

}  // namespace

std::string PermissionMessage(const PermissionHost& host, const std::string& target) {
  const std::string who = HostText(host);
  return "the tap of " + target +
         " delivers only exact silence while it is producing output: macOS has not granted "
         "system-audio-recording permission to " + who +
         ". Grant it in System Settings > Privacy & Security > Screen & System Audio Recording "
         "(the \"System Audio Recording Only\" list; add it with +), then restart " + host.name +
         ". If the prompt was denied before, `tccutil reset AudioCapture` makes macOS ask again.";
}

std::string MicrophonePermissionMessage(const PermissionHost& host, const std::string& device) {
  return device + " delivers only exact silence: macOS has not granted microphone permission "
         "to " + HostText(host) + ". Grant it in System Settings > Privacy & Security > "
         "Microphone, then restart " + host.name + ". If the prompt was denied before, "
         "`tccutil reset Microphone` makes macOS ask again.";
}

std::string RequiresMacOS142Message(const std::string& what) {
  return what + " requires macOS 14.2 or later (Core Audio process taps)";
}

// ---- Capture times ----------------------------------------------------------------------

int64_t FrameCaptureNs(uint64_t frame, double frame_rate, uint64_t stamp_frame,
                       double stamp_rate, int64_t stamp_ns) {
  if (stamp_ns == 0 || !(frame_rate > 0) || !(stamp_rate > 0)) return 0;
  const double seconds = static_cast<double>(frame) / frame_rate -
                         static_cast<double>(stamp_frame) / stamp_rate;
  const int64_t ns = stamp_ns + static_cast<int64_t>(std::llround(seconds * 1e9));
  return ns == 0 ? 1 : ns;  // 0 means "not timed" to the capture core
}

// ---- Devices and playback (audio-out) -----------------------------------------------------

namespace {

// The words of one direction: {"output", "input", "Output"} or {"input", "output", "Input"}.
struct Direction {
  bool input;
  const char* word;
  const char* other;
  const char* settings;  // the pane of System Settings > Sound
};

bool Has(const DeviceEntry& device, const Direction& direction) {
  return direction.input ? device.has_input : device.has_output;
}

std::string DescribeDevices(const std::vector<DeviceEntry>& devices, const Direction& direction) {
  std::string list;
  for (const DeviceEntry& device : devices) {
    if (!Has(device, direction)) continue;
    if (!list.empty()) list += ", ";
    list += "\"" + device.name + "\" (UID " + device.uid + ")";
  }
  if (list.empty()) return std::string("there is no ") + direction.word + " device";
  return std::string("the ") + direction.word + " devices are " + list +
         " (names as in System Settings > Sound > " + direction.settings + ")";
}

size_t ResolveDevice(const std::string& wanted, const std::vector<DeviceEntry>& devices,
                     const Direction& direction) {
  const std::string lacks = std::string(") has no ") + direction.word +
                            " streams: it is an " + direction.other + " device; ";
  for (size_t i = 0; i < devices.size(); ++i) {
    if (wanted.empty() || devices[i].uid != wanted) continue;
    if (Has(devices[i], direction)) return i;
    throw EngineError("ENOAPP", "the device \"" + devices[i].name + "\" (UID " + wanted + lacks +
                                    DescribeDevices(devices, direction));
  }
  std::vector<size_t> matches;
  bool other_only = false;
  for (size_t i = 0; i < devices.size(); ++i) {
    if (!EqualsIgnoreCase(wanted, devices[i].name)) continue;
    if (Has(devices[i], direction)) {
      matches.push_back(i);
    } else {
      other_only = true;
    }
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    throw EngineError("EAMBIGUOUS", std::string("several ") + direction.word +
                                        " devices are named \"" + wanted +
                                        "\"; choose one by its UID: " +
                                        DescribeDevices(devices, direction));
  }
  if (other_only) {
    throw EngineError("ENOAPP", "the device named \"" + wanted + "\" has no " + direction.word +
                                    " streams: it is an " + direction.other + " device; " +
                                    DescribeDevices(devices, direction));
  }
  throw EngineError("ENOAPP", std::string("no ") + direction.word + " device has the UID or name \"" +
                                  wanted + "\"; " + DescribeDevices(devices, direction));
}

}  // namespace

size_t ResolveOutputDevice(const std::string& wanted, const std::vector<DeviceEntry>& devices) {
  return ResolveDevice(wanted, devices, {false, "output", "input", "Output"});
}

size_t ResolveInputDevice(const std::string& wanted, const std::vector<DeviceEntry>& devices) {
  return ResolveDevice(wanted, devices, {true, "input", "output", "Input"});
}

int64_t OutputLatencyInFrames(const OutputLatencyParts& parts, uint32_t sample_rate) {
  if (!(parts.device_sample_rate > 0) || sample_rate == 0 || parts.device_frames < 0 ||
      parts.safety_offset_frames < 0 || parts.buffer_frames < 0) {
    return -1;
  }
  const int64_t device_total = parts.device_frames + parts.safety_offset_frames +
                               parts.buffer_frames + std::max<int64_t>(parts.stream_frames, 0);
  const double seconds = static_cast<double>(device_total) / parts.device_sample_rate +
                         std::max(parts.unit_seconds, 0.0);
  return static_cast<int64_t>(std::llround(seconds * sample_rate));
}

}  // namespace audiotap

// The parts of the macOS Core Audio backend that need no Apple header: matching app
// selectors to process objects, planning the CATapDescription, negotiating the tap's format
// against the asked one, naming OSStatus codes, detecting the all-zero capture that a missing
// system-audio-recording (or microphone) permission produces, naming the app that needs that
// permission, placing a converted stream's frames in time, choosing an input device (a
// multitrack capture's microphone) or, for playback, an output device and adding up its
// latency.
// Kept free of Apple headers so that it compiles and is unit-tested on every OS
// (test/native/backends/macos/tap_logic_test.cc, `npm run test:native`); the .mm files turn these
// plans into Core Audio calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/engine.h"

namespace audiotap {

// ---- OSStatus -----------------------------------------------------------------------------

// "'nope' (1852797029)" for a printable four-character code, "-50" otherwise.
std::string OSStatusText(int32_t status);

// The EngineError for a failed Core Audio / AudioToolbox call: `call` names the function (or
// "Get <property>"), the message names the call, the status and what it usually means.
//   'nope' kAudioHardwareNotPermittedError        -> EPERMISSION
//   'unop' kAudioHardwareUnsupportedOperationError -> EUNSUPPORTED
//   '!dat' kAudioDeviceUnsupportedFormatError, 'fmt?' kAudioConverterErr_FormatNotSupported,
//   '!stt' / '!isr' / '!osr' (AudioConverter stream/rate errors),
//   -10868 kAudioUnitErr_FormatNotSupported                        -> EFORMAT
//   anything else                                                  -> EOS
EngineError MapOSStatus(const std::string& call, int32_t status);

// ---- Process objects and app selectors ----------------------------------------------------

// One Core Audio process object (kAudioHardwarePropertyProcessObjectList).
struct ProcessEntry {
  int32_t pid = 0;
  uint32_t object_id = 0;       // AudioObjectID of the process object
  std::string name;             // app name: the outermost .app bundle's name, else executable
  std::string executable;       // executable's base name
  std::string bundle_id;        // kAudioProcessPropertyBundleID, "" when it has none
  std::string bundle_path;      // the outermost .app bundle holding the executable, or ""
  bool running_output = false;  // kAudioProcessPropertyIsRunningOutput
};

struct AppNames {
  std::string name;         // "Google Chrome" for /Applications/Google Chrome.app/Contents/...
  std::string executable;   // "Google Chrome Helper"
  std::string bundle_path;  // "/Applications/Google Chrome.app"; "" outside any .app
};

// Names an app from its executable's absolute path (proc_pidpath). The name is the outermost
// .app bundle's name without ".app" (a helper inside Chrome.app is "Google Chrome"), else the
// executable's base name. An empty path gives empty names.
AppNames AppNamesFromPath(const std::string& executable_path);

// Whether a name selector names this app: its name, executable or bundle ID equals
// `selector_name`, ignoring ASCII case. An empty name names nothing.
bool NameMatches(const std::string& selector_name, const std::string& name,
                 const std::string& executable, const std::string& bundle_id);

// The indices in `processes` that `selector` picks.
//   pid > 0: the process object of exactly that PID.
//   name:    every entry whose name, executable or bundle ID equals it, ignoring ASCII case.
//            Several matches are one app (all taken) when they live in one .app bundle (an
//            app and its helpers) or, outside bundles, share one non-empty bundle ID;
//            otherwise (two bundles, two instances of a plain executable) it is ambiguous.
// Throws EngineError ENOAPP (no match, or an empty selector) or EAMBIGUOUS (the message lists
// the candidates as "pid name (bundle ID)").
std::vector<size_t> MatchSelector(const AppSelector& selector,
                                  const std::vector<ProcessEntry>& processes);

// Process object IDs for all `selectors`, in selector order, each ID once. Throws as
// MatchSelector. `selectors` may be empty (the system mix excluding nothing).
std::vector<uint32_t> ResolveProcessObjects(const std::vector<AppSelector>& selectors,
                                            const std::vector<ProcessEntry>& processes);

// ---- Tap description ----------------------------------------------------------------------

// What to put into a CATapDescription; tap.mm copies it field by field.
struct TapPlan {
  std::vector<uint32_t> processes;  // process object IDs to include (or, exclusive, exclude)
  bool exclusive = false;           // tap every process except `processes`
  bool mixdown = true;              // mix the processes' channels down to `mono` ? 1 : 2
  bool mono = false;
  std::string device_uid;           // "": every output device; else only this device
  int32_t stream = -1;              // >= 0: only this output stream of `device_uid`
  MuteMode mute = MuteMode::kUnmuted;
  bool private_tap = true;          // only visible to this process
};

// Plans the tap for a kApp or kSystem target whose selectors resolved to `process_objects`.
//   kApp:   a stereo (format.channels 2) or mono (1) mixdown of the processes.
//   kSystem: the global mix excluding the processes.
//   options.device set: only audio going to that device; with options.device_stream >= 0 only
//   that stream, unmixed (the tap then has the stream's format, converted afterwards).
// Throws EngineError: ENOAPP when a kApp target has no process; EUNSUPPORTED for
// kTap (it is attached, not planned) or a device stream without a device.
TapPlan PlanTap(const CaptureOptions& options, const std::vector<uint32_t>& process_objects);

// ---- Format negotiation -------------------------------------------------------------------

// The fields of an AudioStreamBasicDescription this backend looks at.
struct PcmLayout {
  double sample_rate = 0;  // Hz
  uint32_t channels = 0;
  uint32_t bits_per_channel = 0;
  uint32_t bytes_per_frame = 0;  // per buffer: one channel's bytes when non-interleaved
  bool linear_pcm = false;       // kAudioFormatLinearPCM
  bool is_float = false;
  bool is_signed_integer = false;
  bool is_packed = false;
  bool is_big_endian = false;
  bool non_interleaved = false;  // one buffer per channel
};

// The interleaved, packed, little-endian layout of `format`.
PcmLayout LayoutOf(const Format& format);

enum class FormatPath : uint8_t {
  kDirect,   // the IO thread copies (interleaving if need be) straight into the capture core
  kConvert,  // the IO thread copies into a staging ring; an AudioConverter runs elsewhere
};

struct FormatPlan {
  FormatPath path = FormatPath::kDirect;
  bool interleave = false;  // the tap delivers one buffer per channel; interleave on copy
  PcmLayout input;          // what the converter (or the direct copy) reads: interleaved
  PcmLayout output;         // LayoutOf(asked)
};

// Decides how the tap's `tap` format becomes the `asked` one. Direct only when the tap already
// delivers float32 native-endian at the asked rate and channel count and f32le is asked.
// Fails closed: throws EngineError EFORMAT when the asked format is out of range (8000..192000
// Hz, 1..2 channels) or the tap's format is not linear PCM of 8/16/24/32-bit integer or
// 32/64-bit float samples.
FormatPlan NegotiateFormat(const PcmLayout& tap, const Format& asked);

// ---- Permission ---------------------------------------------------------------------------

// True when all `bytes` are zero: the bit-exact silence a tap delivers without permission.
// Real-time safe (no allocation, no lock).
bool IsExactSilence(const void* data, size_t bytes);

// Decides, from the capture's first frames, whether the tap is silent only because the
// system-audio-recording permission is missing: no non-zero sample yet, while a target was
// producing output for at least `threshold_frames` frames. Not thread-safe: fed by one
// monitoring thread from counters the IO thread updates.
class SilenceProbe {
 public:
  explicit SilenceProbe(uint64_t threshold_frames) : threshold_frames_(threshold_frames) {}

  // `frames`: frames captured since the last call; `any_nonzero`: whether any of them was not
  // exactly zero; `target_playing`: whether a tapped process was producing output meanwhile.
  // Returns true exactly once: on the call that decides the capture is permission-silent.
  bool Update(uint64_t frames, bool any_nonzero, bool target_playing);

  bool audible() const { return audible_; }         // a non-zero sample has been seen
  bool suspected() const { return suspected_; }     // Update has returned true
  uint64_t silent_frames() const { return silent_frames_; }

 private:
  const uint64_t threshold_frames_;
  uint64_t silent_frames_ = 0;
  bool audible_ = false;
  bool suspected_ = false;
};

// The app macOS asks the permission of: the responsible app of this process.
struct PermissionHost {
  std::string name;  // "Terminal", "iTerm", "Visual Studio Code", or the executable's name
  std::string path;  // the .app bundle, or the executable when no ancestor is an app
  bool app_bundle = false;
};

// `executable_paths`: this process's executable, then its parent's, up to launchd. The host is
// the outermost .app bundle of the first path inside one (a terminal app, an editor); when
// none is (a launchd service, pm2, ssh), it is this process's own executable (node).
PermissionHost FindPermissionHost(const std::vector<std::string>& executable_paths);

// The EPERMISSION text: what was silent, which app needs the permission and where to grant
// it. `target` names what was tapped ("Music (pid 412)").
std::string PermissionMessage(const PermissionHost& host, const std::string& target);

// The EPERMISSION text for an input device (`device`: "the input \"MacBook Pro Microphone\"")
// that delivers only exact silence: which app needs the microphone permission, and where to
// grant it.
std::string MicrophonePermissionMessage(const PermissionHost& host, const std::string& device);

// The EUNSUPPORTED text for any tap call on macOS before 14.2; `what` names the call.
std::string RequiresMacOS142Message(const std::string& what);

// ---- Capture times ------------------------------------------------------------------------

// When frame `frame` of a stream at `frame_rate` Hz was captured (steady clock, ns), from a
// stamp of the stream it was made from: its frame `stamp_frame`, at `stamp_rate` Hz, was
// captured at `stamp_ns`. The rates differ when an AudioConverter resamples between the two
// (its own delay of a few frames is not counted). 0 when `stamp_ns` is 0 (never stamped) or a
// rate is not positive; never 0 otherwise.
int64_t FrameCaptureNs(uint64_t frame, double frame_rate, uint64_t stamp_frame,
                       double stamp_rate, int64_t stamp_ns);

// ---- Devices and playback (audio-out) -----------------------------------------------------

// One Core Audio device (kAudioHardwarePropertyDevices).
struct DeviceEntry {
  uint32_t object_id = 0;   // AudioObjectID
  std::string uid;          // kAudioDevicePropertyDeviceUID
  std::string name;         // kAudioObjectPropertyName, as Sound settings show it
  bool has_output = false;  // has at least one output stream
  bool has_input = false;   // has at least one input stream
};

// The index in `devices` of the device `wanted` names: the device whose UID equals it
// exactly, else the output device whose name equals it ignoring ASCII case.
// Throws EngineError: ENOAPP when nothing matches, or only a device without output streams
// (an input device) does; EAMBIGUOUS when several output devices have that name. Both
// messages list the output devices as "name" (UID ...).
size_t ResolveOutputDevice(const std::string& wanted, const std::vector<DeviceEntry>& devices);

// The same for an input device (a microphone, an interface's inputs): has_input instead of
// has_output, and the messages name input devices.
size_t ResolveInputDevice(const std::string& wanted, const std::vector<DeviceEntry>& devices);

// What delays a frame between the render callback and the device's output, as Core Audio
// reports it. Device values are in frames of the device's nominal rate; -1 = unknown.
struct OutputLatencyParts {
  double device_sample_rate = 0;      // Hz, kAudioDevicePropertyNominalSampleRate
  int64_t device_frames = -1;         // kAudioDevicePropertyLatency (output scope)
  int64_t safety_offset_frames = -1;  // kAudioDevicePropertySafetyOffset (output scope)
  int64_t buffer_frames = -1;         // kAudioDevicePropertyBufferFrameSize
  int64_t stream_frames = -1;         // kAudioStreamPropertyLatency of the first output stream
  double unit_seconds = 0;            // kAudioUnitProperty_Latency (the AUHAL's converter)
};

// The output latency in frames of `sample_rate` (Hz): (device latency + safety offset + IO
// buffer + stream latency) at the device's rate, plus the output unit's own latency, rounded
// to the nearest frame. An unknown stream latency counts as 0. Returns -1 when the device
// rate, the device latency, the safety offset or the buffer size is unknown.
int64_t OutputLatencyInFrames(const OutputLatencyParts& parts, uint32_t sample_rate);

}  // namespace audiotap

// The platform-neutral engine interface. One backend per OS implements Backend
// (native/backends/linux, macos, windows; binding.gyp picks one); the addon glue (addon/) and
// the shared real-time core (capture_core.h) only ever see this header.
//
// Threads: Backend methods are blocking and are called from a worker thread, never from the
// JavaScript thread and never from an audio callback. A backend's audio callback touches only
// CaptureCore::Write* (lock-free, allocation-free).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace audiotap {

// Sample encodings a capture can deliver. Both are little-endian and interleaved.
enum class SampleEncoding : uint8_t {
  kS16LE,  // signed 16-bit integer, full scale ±32767
  kF32LE,  // 32-bit IEEE float, full scale ±1.0
};

uint32_t BytesPerSample(SampleEncoding encoding);
const char* EncodingName(SampleEncoding encoding);  // "s16le" | "f32le"

// The PCM format of a capture's output. The backend asks the OS for it and lets the OS
// convert (PulseAudio resamples record streams; Core Audio through AudioConverter; WASAPI
// through AUTOCONVERTPCM).
struct Format {
  uint32_t sample_rate = 48000;  // Hz, 8000..192000
  uint32_t channels = 2;         // 1 or 2
  SampleEncoding encoding = SampleEncoding::kS16LE;

  uint32_t BytesPerFrame() const { return channels * BytesPerSample(encoding); }
};

// One app, chosen by process ID or by name. A name is matched case-insensitively and exactly
// against the app's name, its executable's base name, and (macOS) its bundle ID.
struct AppSelector {
  int32_t pid = 0;   // > 0: exactly this process
  std::string name;  // used when pid == 0
};

// What a tap does to the tapped app's own playback (macOS CATapMuteBehavior). Backends without
// the distinction treat kMutedWhenTapped as kMuted.
enum class MuteMode : uint8_t {
  kUnmuted,          // the app is still heard on its device
  kMuted,            // the app is heard only through the capture
  kMutedWhenTapped,  // the app is muted only while the capture reads (macOS)
};

enum class TargetKind : uint8_t {
  kApp,     // "app": the output of the processes in `apps`, mixed into one stream
  kSystem,  // "system": the whole system mix, minus the processes in `exclude`
  kTap,     // "tap" (macOS): an existing visible process tap, by its UID, not owned
  kInput,   // "input": an input device's capture (a microphone): a source (Linux), an input
            // device (macOS) or capture endpoint (Windows), `device`
};

struct Target {
  TargetKind kind = TargetKind::kApp;
  std::vector<AppSelector> apps;     // kApp: one or more
  std::vector<AppSelector> exclude;  // kSystem: zero or more
  std::string tap_uid;               // kTap
  // kInput: the source's name, the input device's UID or name (macOS), the endpoint's ID or
  // name (Windows); "" = the default one. kSystem as a track: the sink whose
  // mix it is ("" = CaptureOptions::device, or the default sink).
  std::string device;
};

struct CaptureOptions {
  Target target;
  Format format;
  uint32_t chunk_frames = 960;   // frames per chunk handed to the host (960 = 20 ms at 48 kHz)
  uint32_t queue_chunks = 50;    // chunks that may wait for the host before new ones are dropped
  // Tracks side by side in every frame: a chunk's frame holds tracks × format.channels samples,
  // track t's channels from sample t × format.channels on (CaptureCore::AcquireSource puts a
  // source on a track; a track's sources are mixed). 1: one mix, the usual capture.
  uint32_t tracks = 1;
  // A multitrack capture (Linux, Windows): one target per track, recorded side by side on one
  // timeline (`tracks` is their count; `target` is unused). Empty: one target, `target`.
  std::vector<Target> track_targets;
  bool mute = false;             // the tapped app is not heard on its device while captured
  std::string device;            // output device (sink name / device UID / endpoint ID); "" = default
  // When set, overrides `mute` (kUnmuted = false, otherwise true).
  std::optional<MuteMode> mute_mode;
  // macOS: with `device`, tap only this output stream of the device (Core Audio stream index,
  // see DeviceInfo::output_streams); -1 = all of the device's output, mixed down.
  int32_t device_stream = -1;
  // macOS: the tap is visible only to this process (false: other apps may attach to it).
  bool private_tap = true;
  // kApp: an app's child processes (and theirs) belong to it: their streams are captured too.
  // Linux follows the parent chain; Windows' process loopback always captures the tree;
  // macOS taps the app's helpers as its own. false (Linux): only the processes named.
  bool process_tree = true;
  // kApp, apps named by name: when every process of the app has exited, the capture goes on
  // (silence) and a process of the same name that plays joins it (EventSink::OnTarget says
  // when). PIDs are never followed. false: the capture ends with kTargetExited. Every
  // backend, by the rules of core/app_follow.h.
  bool follow = false;
  // kApp, followed names: a name that no process has yet is an error (ENOAPP) instead of
  // being waited for.
  bool strict = false;
  // Linux: how long a capture waits for its audio server once it went away, reconnecting,
  // before it ends with ENOSERVER (EventSink::OnServer says when it went and came back);
  // 0: it ends at once.
  uint32_t server_timeout_ms = 30000;

  MuteMode EffectiveMuteMode() const {
    if (mute_mode) return *mute_mode;
    return mute ? MuteMode::kMuted : MuteMode::kUnmuted;
  }
};

// One app that has (or had) audio sessions/streams. Listed by Backend::ListApps.
struct AppInfo {
  int32_t pid = 0;
  std::string name;        // display name (application.name, localized name, session name)
  std::string executable;  // executable's base name
  std::string bundle_id;   // macOS bundle ID; "" elsewhere
  uint32_t streams = 0;    // sink-inputs / audio sessions / process objects with output
  bool playing = false;    // at least one stream is running now (not corked / not paused)
  double volume = 1.0;     // linear 0..1 (PulseAudio: average over the app's sink-inputs)
  bool muted = false;      // all of the app's streams are muted
};

// One output stream of a device (macOS: a Core Audio output stream; index as in
// CaptureOptions::device_stream).
struct StreamInfo {
  int32_t index = 0;
  uint32_t channels = 0;
  double sample_rate = 0;  // Hz
};

// One output device. Listed by Backend::ListDevices.
struct DeviceInfo {
  std::string id;    // what CaptureOptions::device takes (sink name / device UID / endpoint ID)
  std::string name;  // display name
  bool is_default = false;
  std::vector<StreamInfo> output_streams;
};

// One existing tap another process made visible (macOS). Listed by Backend::ListTaps.
struct TapInfo {
  std::string uid;  // what Target::tap_uid takes
  std::string name;
  uint32_t channels = 0;
  double sample_rate = 0;  // Hz
};

// Errors a backend throws. `code` is stable and reaches JavaScript as err.code.
//   ENOLIB       the OS audio library could not be loaded
//   ENOSERVER    no audio server / service reachable
//   ENOAPP       no running app matches a selector
//   EAMBIGUOUS   a name matches several apps (the message lists them)
//   EFORMAT      the asked format is not supported
//   EUNSUPPORTED the OS (version) or backend cannot do this
//   EPERMISSION  the OS denied capture (message says what to grant and where)
//   ENOTAP       no visible tap has the given UID (kTap)
//   ENODEVICE    no output device has the given ID
//   EOS          any other OS call failed (message names the call and its status)
struct EngineError : std::runtime_error {
  std::string code;
  EngineError(std::string error_code, const std::string& message)
      : std::runtime_error(message), code(std::move(error_code)) {}
};

class CaptureCore;
class PlaybackCore;

// Options of a playback stream (audio-out).
struct PlaybackOptions {
  Format format;
  std::string device;            // sink name / device UID / endpoint ID; "" = default output
  uint32_t buffer_frames = 3840; // jitter buffer: frames gathered before playing starts
  uint32_t capacity_frames = 0;  // most frames held; more are dropped and counted (0 = 4 x buffer)
};

// One running playback's OS resources; the OS callback pulls from the PlaybackCore.
class PlaybackSession {
 public:
  virtual ~PlaybackSession() = default;
  // Releases everything; idempotent, blocking.
  virtual void Stop() = 0;
  // The OS's own output latency (device and server buffers), in frames; -1 when unknown.
  virtual int64_t OutputLatencyFrames() { return -1; }
};

// One running capture's OS resources. Stop() releases all of them (streams, taps, aggregate
// devices, audio clients, threads), is idempotent, blocks until done, and must be safe to call
// after the backend has already ended the capture through CaptureCore::End.
class CaptureSession {
 public:
  virtual ~CaptureSession() = default;
  virtual void Stop() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "pulse" | "coreaudio" | "wasapi"
  virtual const char* Name() const = 0;

  // Apps that have audio streams now, one entry per process. Throws EngineError.
  virtual std::vector<AppInfo> ListApps() = 0;

  // Resolves the target, opens the OS resources and starts writing audio into `core` through
  // CaptureCore::AcquireSource / Write / ReleaseSource. Returns once the capture runs or waits
  // for its target (an app that exists but has no stream yet). A backend reports the end of
  // the capture it detects itself (target exited, device lost, OS error) with CaptureCore::End.
  // Throws EngineError; on throw nothing is left open.
  virtual std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                                       CaptureCore* core) = 0;

  // Output devices and their streams. Throws EngineError (EUNSUPPORTED where not listed).
  virtual std::vector<DeviceInfo> ListDevices() {
    throw EngineError("EUNSUPPORTED",
                      std::string("listing devices is not available on the ") + Name() + " backend");
  }

  // Existing taps visible to this process (macOS). Empty where the OS has no taps.
  virtual std::vector<TapInfo> ListTaps() { return {}; }

  // Sets an app's volume (linear 0..1) and/or mute. Throws EngineError (EUNSUPPORTED where
  // the OS has no per-app volume).
  virtual void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                            std::optional<bool> mute);

  // Opens an output stream that plays what the host pushes into `core`. Throws EngineError
  // (EUNSUPPORTED where the backend has no playback yet).
  virtual std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                         PlaybackCore* core);
};

// Implemented once per OS file; returns the backend for this OS. Never throws: a backend
// whose library is missing is still created and throws ENOLIB from each call.
std::unique_ptr<Backend> CreateBackend();

}  // namespace audiotap

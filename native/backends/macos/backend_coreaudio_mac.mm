// macOS backend: Core Audio process taps (macOS 14.2+) for capture, an AUHAL output unit
// (macOS 13+) for playback.
//
// A capture is: a process tap (CATapDescription -> AudioHardwareCreateProcessTap, or an
// existing visible tap found by UID), a private aggregate device whose only content is that
// tap, and an IOProc on the aggregate device. A playback is: a HAL output unit
// (kAudioUnitSubType_HALOutput) on one output device, whose input scope takes the playback's
// own format and converts it to the device's. See docs/macos.md for the design notes.
//
// Threads:
//   - Backend methods and TapSession::Open/Stop: the addon's worker thread (blocking calls).
//   - IOProc (OnInput): the HAL's real-time IO thread. It only copies: into the capture core
//     (CaptureCore::Write) when the tap already has the asked format, else into the session's
//     staging ring. No allocation, lock, Objective-C message or system call there.
//   - Render callback (HalPlayback::Render): the HAL's real-time IO thread of the output
//     device. It only calls PlaybackCore::Pull into the unit's buffer.
//   - Control thread: converts staged audio with an AudioConverter (when needed); every
//     250 ms checks the tapped processes, the aggregate device and the permission probe; opens
//     the tap once a waited-for app has opened audio output, and adds processes that a
//     selected app starts later (a browser's audio helper) to the running tap.
//
// The addon is built with a deployment target of macOS 13 so it loads there; every tap API is
// reached only behind @available(macOS 14.2, *) and otherwise throws EUNSUPPORTED. Playback
// uses no tap API and works on macOS 13.

#import <Foundation/Foundation.h>

#include <AudioToolbox/AUComponent.h>
#include <AudioToolbox/AudioComponent.h>
#include <AudioToolbox/AudioConverter.h>
#include <AudioToolbox/AudioOutputUnit.h>
#include <AudioToolbox/AudioUnitProperties.h>
#include <CoreAudio/AudioHardware.h>
#import <CoreAudio/AudioHardwareTapping.h>
#import <CoreAudio/CATapDescription.h>
#include <errno.h>
#include <libproc.h>
#include <signal.h>
#include <sys/proc_info.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/app_list.h"
#include "core/capture_core.h"
#include "core/engine.h"
#include "core/playback_core.h"
#include "core/spsc_ring.h"
#include "backends/macos/tap_logic.h"

namespace audiotap {
namespace {

constexpr const char* kTapName = "node-red-contrib-audio-tap";
constexpr const char* kAggregateName = "node-red-contrib-audio-tap aggregate";
constexpr const char* kAggregateUidPrefix = "org.nodered.audio-tap.aggregate.";

// Frames the IO thread interleaves at a time, and the converter reads / writes per call.
constexpr size_t kBlockFrames = 4096;
// The staging ring holds this much of the tap's audio for the converter.
constexpr double kStagingSeconds = 2.0;
// Exact silence for this long while a target plays means the permission is missing.
constexpr double kPermissionProbeSeconds = 3.0;
constexpr auto kCheckInterval = std::chrono::milliseconds(250);
constexpr auto kConvertInterval = std::chrono::milliseconds(5);

// Returned by the converter's input callback when the staging ring is empty: the converter
// keeps its state and hands back what it produced so far.
constexpr OSStatus kStagingEmpty = 0x74704d54;  // 'tpMT'

AudioObjectPropertyAddress Address(AudioObjectPropertySelector selector,
                                   AudioObjectPropertyScope scope = kAudioObjectPropertyScopeGlobal) {
  return {selector, scope, kAudioObjectPropertyElementMain};
}

void Check(OSStatus status, const std::string& call) {
  if (status != noErr) throw MapOSStatus(call, status);
}

template <typename T>
OSStatus TryGet(AudioObjectID object, const AudioObjectPropertyAddress& address, T* value,
                const void* qualifier = nullptr, UInt32 qualifier_size = 0) {
  UInt32 size = sizeof(T);
  return AudioObjectGetPropertyData(object, &address, qualifier_size, qualifier, &size, value);
}

template <typename T>
T Get(AudioObjectID object, const AudioObjectPropertyAddress& address, const char* what,
      const void* qualifier = nullptr, UInt32 qualifier_size = 0) {
  T value{};
  Check(TryGet(object, address, &value, qualifier, qualifier_size),
        std::string("AudioObjectGetPropertyData(") + what + ")");
  return value;
}

template <typename T>
std::vector<T> GetArray(AudioObjectID object, const AudioObjectPropertyAddress& address,
                        const char* what) {
  UInt32 size = 0;
  Check(AudioObjectGetPropertyDataSize(object, &address, 0, nullptr, &size),
        std::string("AudioObjectGetPropertyDataSize(") + what + ")");
  std::vector<T> values(size / sizeof(T));
  if (values.empty()) return values;
  size = static_cast<UInt32>(values.size() * sizeof(T));
  Check(AudioObjectGetPropertyData(object, &address, 0, nullptr, &size, values.data()),
        std::string("AudioObjectGetPropertyData(") + what + ")");
  values.resize(size / sizeof(T));
  return values;
}

std::string ToStdString(NSString* text) {
  if (text == nil) return "";
  const char* utf8 = text.UTF8String;
  return utf8 ? std::string(utf8) : std::string();
}

// A CFString property; "" when the object has none or is gone.
std::string TryGetString(AudioObjectID object, const AudioObjectPropertyAddress& address) {
  CFStringRef value = nullptr;
  if (TryGet(object, address, &value) != noErr || value == nullptr) return "";
  return ToStdString(CFBridgingRelease(value));
}

std::string GetString(AudioObjectID object, const AudioObjectPropertyAddress& address,
                      const char* what) {
  CFStringRef value = nullptr;
  Check(TryGet(object, address, &value), std::string("AudioObjectGetPropertyData(") + what + ")");
  return ToStdString(CFBridgingRelease(value));
}

// An object found by a CFString qualifier (TranslateUIDToDevice / TranslateUIDToTap).
AudioObjectID TranslateUID(AudioObjectPropertySelector selector, const std::string& uid,
                           const char* what) {
  // The NSString must outlive the call: ARC may otherwise release it right after the cast.
  NS_VALID_UNTIL_END_OF_SCOPE NSString* text = [NSString stringWithUTF8String:uid.c_str()];
  if (text == nil) return kAudioObjectUnknown;
  CFStringRef qualifier = (__bridge CFStringRef)text;
  return Get<AudioObjectID>(kAudioObjectSystemObject, Address(selector), what, &qualifier,
                            sizeof(qualifier));
}

PcmLayout LayoutFromAsbd(const AudioStreamBasicDescription& asbd) {
  PcmLayout layout;
  layout.sample_rate = asbd.mSampleRate;
  layout.channels = asbd.mChannelsPerFrame;
  layout.bits_per_channel = asbd.mBitsPerChannel;
  layout.bytes_per_frame = asbd.mBytesPerFrame;
  layout.linear_pcm = asbd.mFormatID == kAudioFormatLinearPCM;
  layout.is_float = (asbd.mFormatFlags & kAudioFormatFlagIsFloat) != 0;
  layout.is_signed_integer = (asbd.mFormatFlags & kAudioFormatFlagIsSignedInteger) != 0;
  layout.is_packed = (asbd.mFormatFlags & kAudioFormatFlagIsPacked) != 0;
  layout.is_big_endian = (asbd.mFormatFlags & kAudioFormatFlagIsBigEndian) != 0;
  layout.non_interleaved = (asbd.mFormatFlags & kAudioFormatFlagIsNonInterleaved) != 0;
  return layout;
}

AudioStreamBasicDescription AsbdFromLayout(const PcmLayout& layout) {
  AudioStreamBasicDescription asbd{};
  asbd.mSampleRate = layout.sample_rate;
  asbd.mFormatID = kAudioFormatLinearPCM;
  asbd.mFormatFlags = (layout.is_float ? kAudioFormatFlagIsFloat : 0) |
                      (layout.is_signed_integer ? kAudioFormatFlagIsSignedInteger : 0) |
                      (layout.is_packed ? kAudioFormatFlagIsPacked : 0) |
                      (layout.is_big_endian ? kAudioFormatFlagIsBigEndian : 0) |
                      (layout.non_interleaved ? kAudioFormatFlagIsNonInterleaved : 0);
  asbd.mBytesPerPacket = layout.bytes_per_frame;
  asbd.mFramesPerPacket = 1;
  asbd.mBytesPerFrame = layout.bytes_per_frame;
  asbd.mChannelsPerFrame = layout.channels;
  asbd.mBitsPerChannel = layout.bits_per_channel;
  return asbd;
}

// Runs `fn` inside an autorelease pool. Backend calls arrive on worker threads that have no
// pool of their own, where autoreleased Foundation objects would pile up until thread exit.
// A C++ exception must not unwind through @autoreleasepool (the pool would not be popped),
// so it is caught inside and rethrown outside.
template <typename Fn>
auto WithAutoreleasePool(Fn&& fn) -> decltype(fn()) {
  std::exception_ptr error;
  decltype(fn()) result{};
  @autoreleasepool {
    try {
      result = fn();
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return result;
}

std::string ExecutablePath(pid_t pid) {
  char path[PROC_PIDPATHINFO_MAXSIZE];
  const int length = proc_pidpath(pid, path, sizeof(path));
  return length > 0 ? std::string(path, static_cast<size_t>(length)) : std::string();
}

// This process's executable, then its ancestors' up to launchd: what macOS holds responsible
// for the permission (a terminal app, an editor, or node itself under a service manager).
std::vector<std::string> ExecutableChain() {
  std::vector<std::string> chain;
  pid_t pid = getpid();
  for (int depth = 0; depth < 32 && pid > 1; ++depth) {
    std::string path = ExecutablePath(pid);
    if (!path.empty()) chain.push_back(std::move(path));
    struct proc_bsdinfo info;
    if (proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, sizeof(info)) != sizeof(info)) break;
    pid = static_cast<pid_t>(info.pbi_ppid);
  }
  return chain;
}

bool ProcessExists(int32_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

// Every Core Audio process object except this process's own.
std::vector<ProcessEntry> ListProcessEntries() {
  const auto objects = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyProcessObjectList),
      "kAudioHardwarePropertyProcessObjectList");
  const pid_t self = getpid();
  std::vector<ProcessEntry> entries;
  entries.reserve(objects.size());
  for (AudioObjectID object : objects) {
    pid_t pid = 0;
    // A process that exits while the list is read is skipped.
    if (TryGet(object, Address(kAudioProcessPropertyPID), &pid) != noErr || pid <= 0) continue;
    if (pid == self) continue;
    ProcessEntry entry;
    entry.pid = pid;
    entry.object_id = object;
    entry.bundle_id = TryGetString(object, Address(kAudioProcessPropertyBundleID));
    UInt32 running = 0;
    if (TryGet(object, Address(kAudioProcessPropertyIsRunningOutput), &running) == noErr) {
      entry.running_output = running != 0;
    }
    const AppNames names = AppNamesFromPath(ExecutablePath(pid));
    entry.name = names.name;
    entry.executable = names.executable;
    entry.bundle_path = names.bundle_path;
    if (entry.executable.empty()) {
      char name[2 * MAXCOMLEN + 1] = {0};
      if (proc_name(pid, name, sizeof(name)) > 0) entry.executable = name;
    }
    if (entry.name.empty()) entry.name = !entry.executable.empty() ? entry.executable : entry.bundle_id;
    entries.push_back(std::move(entry));
  }
  return entries;
}

bool IsRunningOutput(AudioObjectID process_object) {
  UInt32 running = 0;
  return TryGet(process_object, Address(kAudioProcessPropertyIsRunningOutput), &running) == noErr &&
         running != 0;
}

CATapMuteBehavior ToMuteBehavior(MuteMode mode) {
  switch (mode) {
    case MuteMode::kUnmuted: return CATapUnmuted;
    case MuteMode::kMuted: return CATapMuted;
    case MuteMode::kMutedWhenTapped: return CATapMutedWhenTapped;
  }
  return CATapUnmuted;
}

API_AVAILABLE(macos(14.2))
AudioObjectID CreateProcessTap(const TapPlan& plan) {
  NSMutableArray<NSNumber*>* processes =
      [NSMutableArray arrayWithCapacity:plan.processes.size()];
  for (uint32_t object : plan.processes) [processes addObject:@(object)];
  NSString* device_uid = plan.device_uid.empty()
                             ? nil
                             : [NSString stringWithUTF8String:plan.device_uid.c_str()];

  // Looked up by name rather than linked: a class reference would be a strong import that
  // could keep the addon from loading on a macOS without the class.
  Class tap_class = NSClassFromString(@"CATapDescription");
  if (tap_class == Nil) {
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("creating a process tap"));
  }
  CATapDescription* description = nil;
  if (plan.stream >= 0 && device_uid != nil) {
    description = [[tap_class alloc] initWithProcesses:processes
                                          andDeviceUID:device_uid
                                            withStream:plan.stream];
    // The initializer's direction is "include"; exclusive turns the list into "all but".
    description.exclusive = plan.exclusive;
  } else if (plan.exclusive) {
    description = plan.mono ? [[tap_class alloc] initMonoGlobalTapButExcludeProcesses:processes]
                            : [[tap_class alloc] initStereoGlobalTapButExcludeProcesses:processes];
  } else {
    description = plan.mono ? [[tap_class alloc] initMonoMixdownOfProcesses:processes]
                            : [[tap_class alloc] initStereoMixdownOfProcesses:processes];
  }
  if (description == nil) {
    throw EngineError("EOS", "CATapDescription could not be initialised");
  }
  if (plan.stream < 0 && device_uid != nil) description.deviceUID = device_uid;
  description.name = @(kTapName);
  description.UUID = [NSUUID UUID];
  description.privateTap = plan.private_tap ? YES : NO;
  description.muteBehavior = ToMuteBehavior(plan.mute);

  AudioObjectID tap = kAudioObjectUnknown;
  Check(AudioHardwareCreateProcessTap(description, &tap), "AudioHardwareCreateProcessTap");
  if (tap == kAudioObjectUnknown) {
    throw EngineError("EOS", "AudioHardwareCreateProcessTap returned no tap object");
  }
  return tap;
}

API_AVAILABLE(macos(14.2))
void DestroyProcessTap(AudioObjectID tap) { AudioHardwareDestroyProcessTap(tap); }

// Replaces the processes of a tap this process created (kAudioTapPropertyDescription is
// settable), so a process that starts playing later joins the running capture.
API_AVAILABLE(macos(14.2))
void SetTapProcesses(AudioObjectID tap, const std::vector<uint32_t>& objects) {
  const AudioObjectPropertyAddress address = Address(kAudioTapPropertyDescription);
  CFTypeRef raw = nullptr;
  UInt32 size = sizeof(raw);
  Check(AudioObjectGetPropertyData(tap, &address, 0, nullptr, &size, &raw),
        "AudioObjectGetPropertyData(kAudioTapPropertyDescription)");
  CATapDescription* description = CFBridgingRelease(raw);
  if (description == nil) throw EngineError("EOS", "the tap has no description");
  NSMutableArray<NSNumber*>* processes = [NSMutableArray arrayWithCapacity:objects.size()];
  for (uint32_t object : objects) [processes addObject:@(object)];
  description.processes = processes;
  CFTypeRef updated = (__bridge CFTypeRef)description;
  Check(AudioObjectSetPropertyData(tap, &address, 0, nullptr, sizeof(updated), &updated),
        "AudioObjectSetPropertyData(kAudioTapPropertyDescription)");
}

// Whether any running process (with or without audio) is named `name` (app name, executable).
bool RunningProcessNamed(const std::string& name) {
  std::vector<pid_t> pids(4096);
  const int bytes = proc_listallpids(pids.data(), static_cast<int>(pids.size() * sizeof(pid_t)));
  if (bytes <= 0) return false;
  pids.resize(std::min(pids.size(), static_cast<size_t>(bytes) / sizeof(pid_t)));
  const pid_t self = getpid();
  for (pid_t pid : pids) {
    if (pid <= 0 || pid == self) continue;
    const AppNames names = AppNamesFromPath(ExecutablePath(pid));
    if (NameMatches(name, names.name, names.executable, "")) return true;
  }
  return false;
}

// One capture. Open() acquires everything, or, when the apps run but have not opened audio
// output yet, leaves the control thread to do so once they have. Stop() (also from the
// destructor, so a failed Open() leaves nothing behind) releases it all in reverse order.
class TapSession final : public CaptureSession {
 public:
  TapSession(const CaptureOptions& options, CaptureCore* core) : options_(options), core_(core) {}
  ~TapSession() override { Stop(); }
  TapSession(const TapSession&) = delete;
  TapSession& operator=(const TapSession&) = delete;

  API_AVAILABLE(macos(14.2)) void Open();
  void Stop() override;

 private:
  // Resolves the target now. Returns the process objects to tap (kApps: those that exist;
  // kSystem: those to exclude) and fills waiting_ with the kApps selectors still to come.
  std::vector<uint32_t> ResolveTarget(const std::vector<ProcessEntry>& processes);
  void CheckDevice() const;
  API_AVAILABLE(macos(14.2)) void OpenTap(AudioObjectID existing_tap, const TapPlan* plan);
  void CreateAggregateDevice();
  void PrepareBuffers();
  void NoteTargets(const std::vector<ProcessEntry>& processes,
                   const std::vector<uint32_t>& objects);

  static OSStatus IOProc(AudioObjectID device, const AudioTimeStamp* now,
                         const AudioBufferList* input, const AudioTimeStamp* input_time,
                         AudioBufferList* output, const AudioTimeStamp* output_time,
                         void* client);
  void OnInput(const AudioBufferList* input);
  void Deliver(const void* frames, size_t frame_count);

  static OSStatus ConverterInput(AudioConverterRef converter, UInt32* packet_count,
                                 AudioBufferList* data,
                                 AudioStreamPacketDescription** packet_descriptions,
                                 void* user_data);
  void ControlLoop();
  void ConvertStaged();
  void CheckHealth();
  API_AVAILABLE(macos(14.2)) void FollowApps();
  bool WaitingAlive() const;
  bool TargetPlaying();
  void EndWith(EndReason reason, const std::string& code, const std::string& message);

  const CaptureOptions options_;
  CaptureCore* const core_;

  // Set by Open() or, for a waited-for app, by the control thread before the IOProc starts;
  // read-only afterwards. Stop() reads them after joining the control thread.
  bool opened_ = false;
  FormatPlan plan_;
  int source_ = -1;
  AudioObjectID tap_ = kAudioObjectUnknown;
  bool owns_tap_ = false;
  std::string tap_uid_;
  AudioObjectID aggregate_ = kAudioObjectUnknown;
  AudioDeviceIOProcID io_proc_ = nullptr;
  bool io_started_ = false;
  AudioConverterRef converter_ = nullptr;

  // Control thread (and Open() before it starts).
  std::vector<AppSelector> waiting_;   // kApps selectors whose app runs but has no audio yet
  std::vector<uint32_t> tapped_;       // kApps: process objects in the tap
  std::vector<uint32_t> unjoinable_;   // kApps: process objects the tap refused to add
  std::vector<ProcessEntry> targets_;  // kApps: the tapped processes
  std::vector<uint32_t> excluded_;     // kSystem: the excluded process objects
  std::string target_text_;            // for messages: "Music (pid 412)"
  bool ended_ = false;                 // CaptureCore::End has been called

  // IO thread buffers, allocated before the IOProc starts.
  std::unique_ptr<uint8_t[]> interleave_;
  SpscRing staging_;
  // Converter buffers: control thread, then Stop().
  std::unique_ptr<uint8_t[]> convert_in_;
  std::unique_ptr<uint8_t[]> convert_out_;

  // Written by the IO thread, read by the control thread.
  std::atomic<uint64_t> io_frames_{0};
  std::atomic<bool> io_nonzero_{false};
  std::atomic<bool> io_format_error_{false};
  std::atomic<uint64_t> staging_dropped_frames_{0};

  std::thread control_;
  std::mutex control_mutex_;
  std::condition_variable control_cv_;
  bool control_stop_ = false;

  std::mutex stop_mutex_;
  bool stopped_ = false;
};

void TapSession::NoteTargets(const std::vector<ProcessEntry>& processes,
                             const std::vector<uint32_t>& objects) {
  for (uint32_t object : objects) {
    if (std::find(tapped_.begin(), tapped_.end(), object) != tapped_.end()) continue;
    tapped_.push_back(object);
    for (const ProcessEntry& entry : processes) {
      if (entry.object_id != object) continue;
      targets_.push_back(entry);
      if (!target_text_.empty()) target_text_ += ", ";
      target_text_ += entry.name + " (pid " + std::to_string(entry.pid) + ")";
    }
  }
}

std::vector<uint32_t> TapSession::ResolveTarget(const std::vector<ProcessEntry>& processes) {
  if (options_.target.kind == TargetKind::kSystem) {
    excluded_ = ResolveProcessObjects(options_.target.exclude, processes);
    target_text_ = "the system mix";
    return excluded_;
  }
  if (options_.target.apps.empty()) {
    throw EngineError("ENOAPP", "an app capture needs at least one app");
  }
  std::vector<AppSelector> now;
  for (const AppSelector& selector : options_.target.apps) {
    bool has_object = false;
    if (selector.pid > 0) {
      const pid_t pid = selector.pid;
      has_object = Get<AudioObjectID>(kAudioObjectSystemObject,
                                      Address(kAudioHardwarePropertyTranslatePIDToProcessObject),
                                      "kAudioHardwarePropertyTranslatePIDToProcessObject", &pid,
                                      sizeof(pid)) != kAudioObjectUnknown;
      if (!has_object && !ProcessExists(pid)) {
        throw EngineError("ENOAPP", "no running process has the PID " + std::to_string(pid));
      }
    } else {
      for (const ProcessEntry& entry : processes) {
        has_object = has_object || NameMatches(selector.name, entry.name, entry.executable,
                                               entry.bundle_id);
      }
      if (!has_object && !RunningProcessNamed(selector.name)) {
        // MatchSelector's ENOAPP says what names match against.
        MatchSelector(selector, processes);
      }
    }
    // A running app that has not opened audio output has no process object to tap yet.
    (has_object ? now : waiting_).push_back(selector);
  }
  return ResolveProcessObjects(now, processes);
}

void TapSession::CheckDevice() const {
  if (options_.device.empty()) return;
  const AudioObjectID device = TranslateUID(kAudioHardwarePropertyTranslateUIDToDevice,
                                            options_.device,
                                            "kAudioHardwarePropertyTranslateUIDToDevice");
  if (device == kAudioObjectUnknown) {
    throw EngineError("ENODEVICE", "no audio device has the UID \"" + options_.device +
                                       "\"; list devices to see their UIDs");
  }
  if (options_.device_stream >= 0) {
    const auto streams = GetArray<AudioStreamID>(
        device, Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput),
        "kAudioDevicePropertyStreams");
    if (static_cast<size_t>(options_.device_stream) >= streams.size()) {
      throw EngineError("ENODEVICE", "device \"" + options_.device + "\" has " +
                                         std::to_string(streams.size()) +
                                         " output streams; stream " +
                                         std::to_string(options_.device_stream) +
                                         " does not exist");
    }
  }
}

void TapSession::CreateAggregateDevice() {
  NSString* uid =
      [NSString stringWithFormat:@"%s%@", kAggregateUidPrefix, [NSUUID UUID].UUIDString];
  NSString* tap_uid = [NSString stringWithUTF8String:tap_uid_.c_str()];
  if (tap_uid == nil) throw EngineError("EOS", "the tap's UID is not valid UTF-8");
  // Private: invisible to other processes and destroyed by the HAL if this process dies.
  // Only the tap, no sub-device: the aggregate runs on the tap's clock, and drift
  // compensation keeps the tap aligned with it. No tap auto-start: with it AudioDeviceStart
  // waits for the target's first audio, and a start must return at once even for a silent app
  // (the capture core fills silence).
  NSDictionary* composition = @{
    @kAudioAggregateDeviceNameKey : @(kAggregateName),
    @kAudioAggregateDeviceUIDKey : uid,
    @kAudioAggregateDeviceIsPrivateKey : @YES,
    @kAudioAggregateDeviceIsStackedKey : @NO,
    @kAudioAggregateDeviceTapAutoStartKey : @NO,
    @kAudioAggregateDeviceSubDeviceListKey : @[],
    @kAudioAggregateDeviceTapListKey : @[ @{
      @kAudioSubTapUIDKey : tap_uid,
      @kAudioSubTapDriftCompensationKey : @YES,
    } ],
  };
  Check(AudioHardwareCreateAggregateDevice((__bridge CFDictionaryRef)composition, &aggregate_),
        "AudioHardwareCreateAggregateDevice");
}

void TapSession::PrepareBuffers() {
  const uint32_t in_bpf = plan_.input.bytes_per_frame;
  if (plan_.interleave) interleave_.reset(new uint8_t[kBlockFrames * in_bpf]);
  if (plan_.path == FormatPath::kConvert) {
    staging_.Allocate(static_cast<size_t>(kStagingSeconds * plan_.input.sample_rate) * in_bpf);
    convert_in_.reset(new uint8_t[kBlockFrames * in_bpf]);
    convert_out_.reset(new uint8_t[kBlockFrames * plan_.output.bytes_per_frame]);
    const AudioStreamBasicDescription in = AsbdFromLayout(plan_.input);
    const AudioStreamBasicDescription out = AsbdFromLayout(plan_.output);
    Check(AudioConverterNew(&in, &out, &converter_), "AudioConverterNew");
  }
}

// Either attaches to `existing_tap` or creates a tap from `plan`, then builds everything up
// to a running IOProc. Worker thread (Open) or control thread (a waited-for app).
void TapSession::OpenTap(AudioObjectID existing_tap, const TapPlan* plan) {
  if (plan == nullptr) {
    tap_ = existing_tap;
    owns_tap_ = false;
  } else {
    tap_ = CreateProcessTap(*plan);
    owns_tap_ = true;
  }
  tap_uid_ = GetString(tap_, Address(kAudioTapPropertyUID), "kAudioTapPropertyUID");
  const auto tap_format = Get<AudioStreamBasicDescription>(
      tap_, Address(kAudioTapPropertyFormat), "kAudioTapPropertyFormat");
  plan_ = NegotiateFormat(LayoutFromAsbd(tap_format), options_.format);
  PrepareBuffers();

  source_ = core_->AcquireSource();
  if (source_ < 0) throw EngineError("EOS", "the capture has no free source slot");

  CreateAggregateDevice();
  Check(AudioDeviceCreateIOProcID(aggregate_, &TapSession::IOProc, this, &io_proc_),
        "AudioDeviceCreateIOProcID");
  Check(AudioDeviceStart(aggregate_, io_proc_), "AudioDeviceStart");
  io_started_ = true;
  opened_ = true;
}

void TapSession::Open() {
  // Fail on a bad asked format before anything is created.
  NegotiateFormat(LayoutOf(options_.format), options_.format);

  if (options_.target.kind == TargetKind::kExistingTap) {
    if (options_.target.tap_uid.empty()) {
      throw EngineError("ENOTAP", "an existing-tap capture needs the tap's UID; list taps");
    }
    const AudioObjectID tap = TranslateUID(kAudioHardwarePropertyTranslateUIDToTap,
                                           options_.target.tap_uid,
                                           "kAudioHardwarePropertyTranslateUIDToTap");
    if (tap == kAudioObjectUnknown) {
      throw EngineError("ENOTAP", "no visible tap has the UID \"" + options_.target.tap_uid +
                                      "\" (a private tap of another process cannot be "
                                      "attached); list taps to see them");
    }
    target_text_ = "tap " + options_.target.tap_uid;
    OpenTap(tap, nullptr);
  } else {
    CheckDevice();
    const std::vector<ProcessEntry> processes = ListProcessEntries();
    const std::vector<uint32_t> objects = ResolveTarget(processes);
    if (options_.target.kind == TargetKind::kApps) {
      NoteTargets(processes, objects);
      for (const AppSelector& selector : waiting_) {
        if (!target_text_.empty()) target_text_ += ", ";
        target_text_ += selector.pid > 0 ? "pid " + std::to_string(selector.pid) : selector.name;
      }
    }
    // Every app still to come: the capture waits (core state kWaiting) until one plays.
    if (options_.target.kind == TargetKind::kSystem || !objects.empty()) {
      const TapPlan plan = PlanTap(options_, objects);
      OpenTap(kAudioObjectUnknown, &plan);
    }
  }
  control_ = std::thread([this] { ControlLoop(); });
}

void TapSession::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  // The control thread may still be opening a waited-for app: it finishes first, and what it
  // opened is then visible here.
  if (control_.joinable()) {
    {
      std::lock_guard<std::mutex> control_lock(control_mutex_);
      control_stop_ = true;
    }
    control_cv_.notify_all();
    control_.join();
  }
  // AudioDeviceStop returns after the last IOProc call, so nothing writes after this.
  if (io_started_) AudioDeviceStop(aggregate_, io_proc_);
  if (converter_ != nullptr && source_ >= 0 && !ended_) ConvertStaged();
  if (io_proc_ != nullptr) AudioDeviceDestroyIOProcID(aggregate_, io_proc_);
  if (aggregate_ != kAudioObjectUnknown) AudioHardwareDestroyAggregateDevice(aggregate_);
  if (tap_ != kAudioObjectUnknown && owns_tap_) {
    if (@available(macOS 14.2, *)) DestroyProcessTap(tap_);
  }
  if (converter_ != nullptr) AudioConverterDispose(converter_);
  if (source_ >= 0) core_->ReleaseSource(source_);
  io_started_ = false;
  io_proc_ = nullptr;
  aggregate_ = kAudioObjectUnknown;
  tap_ = kAudioObjectUnknown;
  converter_ = nullptr;
  source_ = -1;
}

// ---- IO thread ----------------------------------------------------------------------------

OSStatus TapSession::IOProc(AudioObjectID, const AudioTimeStamp*, const AudioBufferList* input,
                            const AudioTimeStamp*, AudioBufferList*, const AudioTimeStamp*,
                            void* client) {
  static_cast<TapSession*>(client)->OnInput(input);
  return noErr;
}

void TapSession::OnInput(const AudioBufferList* input) {
  if (input == nullptr || input->mNumberBuffers == 0) return;
  const PcmLayout& layout = plan_.input;
  if (plan_.interleave) {
    const uint32_t channels = layout.channels;
    const uint32_t sample_bytes = layout.bits_per_channel / 8;
    if (input->mNumberBuffers != channels) {
      io_format_error_.store(true, std::memory_order_relaxed);
      return;
    }
    const size_t frames = input->mBuffers[0].mDataByteSize / sample_bytes;
    for (uint32_t c = 0; c < channels; ++c) {
      if (input->mBuffers[c].mData == nullptr ||
          input->mBuffers[c].mDataByteSize / sample_bytes < frames) {
        io_format_error_.store(true, std::memory_order_relaxed);
        return;
      }
    }
    for (size_t done = 0; done < frames;) {
      const size_t block = std::min(frames - done, kBlockFrames);
      uint8_t* out = interleave_.get();
      for (size_t f = 0; f < block; ++f) {
        for (uint32_t c = 0; c < channels; ++c) {
          const uint8_t* in = static_cast<const uint8_t*>(input->mBuffers[c].mData);
          std::memcpy(out, in + (done + f) * sample_bytes, sample_bytes);
          out += sample_bytes;
        }
      }
      Deliver(interleave_.get(), block);
      done += block;
    }
    return;
  }
  const AudioBuffer& buffer = input->mBuffers[0];
  if (buffer.mNumberChannels != layout.channels || buffer.mData == nullptr) {
    io_format_error_.store(true, std::memory_order_relaxed);
    return;
  }
  Deliver(buffer.mData, buffer.mDataByteSize / layout.bytes_per_frame);
}

void TapSession::Deliver(const void* frames, size_t frame_count) {
  if (frame_count == 0) return;
  const size_t bytes = frame_count * plan_.input.bytes_per_frame;
  if (!io_nonzero_.load(std::memory_order_relaxed) && !IsExactSilence(frames, bytes)) {
    io_nonzero_.store(true, std::memory_order_relaxed);
  }
  io_frames_.fetch_add(frame_count, std::memory_order_relaxed);
  if (plan_.path == FormatPath::kDirect) {
    core_->Write(source_, frames, frame_count);
    return;
  }
  // Only whole frames enter the staging ring, so the converter never reads a split frame.
  const size_t bpf = plan_.input.bytes_per_frame;
  const size_t free_bytes = staging_.Capacity() - staging_.Readable();
  const size_t whole = std::min(bytes, free_bytes - free_bytes % bpf);
  if (whole > 0) staging_.Write(frames, whole);
  if (whole < bytes) {
    staging_dropped_frames_.fetch_add((bytes - whole) / bpf, std::memory_order_relaxed);
  }
}

// ---- Control thread -----------------------------------------------------------------------

OSStatus TapSession::ConverterInput(AudioConverterRef, UInt32* packet_count,
                                    AudioBufferList* data, AudioStreamPacketDescription**,
                                    void* user_data) {
  auto* self = static_cast<TapSession*>(user_data);
  const size_t bpf = self->plan_.input.bytes_per_frame;
  const size_t available = self->staging_.Readable() / bpf;
  if (available == 0) {
    *packet_count = 0;
    return kStagingEmpty;
  }
  const size_t frames = std::min<size_t>({*packet_count, available, kBlockFrames});
  self->staging_.Read(self->convert_in_.get(), frames * bpf);
  data->mNumberBuffers = 1;
  data->mBuffers[0].mNumberChannels = self->plan_.input.channels;
  data->mBuffers[0].mDataByteSize = static_cast<UInt32>(frames * bpf);
  data->mBuffers[0].mData = self->convert_in_.get();
  *packet_count = static_cast<UInt32>(frames);
  return noErr;
}

void TapSession::EndWith(EndReason reason, const std::string& code, const std::string& message) {
  core_->End(reason, code, message);
  ended_ = true;
}

void TapSession::ConvertStaged() {
  const uint32_t out_bpf = plan_.output.bytes_per_frame;
  while (staging_.Readable() >= plan_.input.bytes_per_frame) {
    UInt32 frames = kBlockFrames;
    AudioBufferList output;
    output.mNumberBuffers = 1;
    output.mBuffers[0].mNumberChannels = plan_.output.channels;
    output.mBuffers[0].mDataByteSize = static_cast<UInt32>(kBlockFrames * out_bpf);
    output.mBuffers[0].mData = convert_out_.get();
    const OSStatus status =
        AudioConverterFillComplexBuffer(converter_, &TapSession::ConverterInput, this, &frames,
                                        &output, nullptr);
    if (frames > 0) core_->Write(source_, convert_out_.get(), frames);
    if (status == kStagingEmpty) return;
    if (status != noErr) {
      const EngineError error = MapOSStatus("AudioConverterFillComplexBuffer", status);
      EndWith(EndReason::kError, error.code, error.what());
      return;
    }
    if (frames == 0) return;
  }
}

bool TapSession::TargetPlaying() {
  if (options_.target.kind == TargetKind::kApps) {
    for (uint32_t object : tapped_) {
      if (IsRunningOutput(object)) return true;
    }
    return false;
  }
  // The system mix or another process's tap: any process but the excluded ones counts.
  std::vector<AudioObjectID> objects;
  try {
    objects = GetArray<AudioObjectID>(kAudioObjectSystemObject,
                                      Address(kAudioHardwarePropertyProcessObjectList),
                                      "kAudioHardwarePropertyProcessObjectList");
  } catch (const EngineError&) {
    return false;
  }
  for (AudioObjectID object : objects) {
    if (std::find(excluded_.begin(), excluded_.end(), object) != excluded_.end()) continue;
    if (IsRunningOutput(object)) return true;
  }
  return false;
}

bool TapSession::WaitingAlive() const {
  for (const AppSelector& selector : waiting_) {
    if (selector.pid > 0 ? ProcessExists(selector.pid) : RunningProcessNamed(selector.name)) {
      return true;
    }
  }
  return false;
}

// kApps: opens the tap once a waited-for app has a process object, and adds processes that
// appear later under a selected name (a browser's new audio helper) to the running tap.
void TapSession::FollowApps() {
  const std::vector<ProcessEntry> processes = ListProcessEntries();
  const auto is_waiting = [this](const AppSelector& selector) {
    return std::find_if(waiting_.begin(), waiting_.end(), [&](const AppSelector& w) {
             return w.pid == selector.pid && w.name == selector.name;
           }) != waiting_.end();
  };
  std::vector<uint32_t> added;
  std::vector<AppSelector> still_waiting;
  for (const AppSelector& selector : options_.target.apps) {
    const bool was_waiting = is_waiting(selector);
    // A PID already tapped has nothing more to find; a name may gain processes.
    if (!was_waiting && selector.pid > 0) continue;
    std::vector<size_t> matches;
    try {
      matches = MatchSelector(selector, processes);
    } catch (const EngineError& error) {
      // A waited-for name that turns out ambiguous ends the capture as it would have at
      // start; otherwise the app is not there yet (ENOAPP), or a name already tapped became
      // ambiguous: keep what is tapped.
      if (was_waiting && error.code == "EAMBIGUOUS") throw;
    }
    if (matches.empty() && was_waiting) still_waiting.push_back(selector);
    for (size_t index : matches) {
      const uint32_t object = processes[index].object_id;
      if (std::find(tapped_.begin(), tapped_.end(), object) == tapped_.end() &&
          std::find(unjoinable_.begin(), unjoinable_.end(), object) == unjoinable_.end() &&
          std::find(added.begin(), added.end(), object) == added.end()) {
        added.push_back(object);
      }
    }
  }
  waiting_ = std::move(still_waiting);
  if (added.empty()) {
    if (!opened_ && !WaitingAlive()) {
      EndWith(EndReason::kTargetExited, "", target_text_ + " exited before it played");
    }
    return;
  }
  if (!opened_) {
    target_text_.clear();
    NoteTargets(processes, added);
    const TapPlan plan = PlanTap(options_, tapped_);
    OpenTap(kAudioObjectUnknown, &plan);
    return;
  }
  // Objects of processes that have exited are left out: the HAL has dropped them already.
  std::vector<uint32_t> all;
  for (uint32_t object : tapped_) {
    for (const ProcessEntry& entry : processes) {
      if (entry.object_id == object) all.push_back(object);
    }
  }
  all.insert(all.end(), added.begin(), added.end());
  try {
    SetTapProcesses(tap_, all);
  } catch (const EngineError& error) {
    // The capture goes on with the processes it has; these are not tried again.
    unjoinable_.insert(unjoinable_.end(), added.begin(), added.end());
    core_->sink()->OnWarning(std::string("a process that started playing later could not join "
                                         "the running tap: ") + error.what());
    return;
  }
  NoteTargets(processes, added);
}

void TapSession::CheckHealth() {
  if (io_format_error_.load(std::memory_order_relaxed)) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's buffers no longer match its format (" +
                std::to_string(plan_.input.channels) +
                " ch); its device changed format: start the capture again");
    return;
  }
  // A device that changes its sample rate would otherwise be recorded at the wrong speed.
  AudioStreamBasicDescription format{};
  if (TryGet(tap_, Address(kAudioTapPropertyFormat), &format) == noErr &&
      (format.mSampleRate != plan_.input.sample_rate ||
       format.mChannelsPerFrame != plan_.input.channels)) {
    EndWith(EndReason::kError, "EFORMAT",
            "the tap's format changed from " + std::to_string(plan_.input.channels) + " ch " +
                std::to_string(static_cast<int64_t>(plan_.input.sample_rate)) + " Hz to " +
                std::to_string(format.mChannelsPerFrame) + " ch " +
                std::to_string(static_cast<int64_t>(format.mSampleRate)) +
                " Hz (the output device was switched or reconfigured); start the capture again");
    return;
  }
  UInt32 alive = 1;
  if (TryGet(aggregate_, Address(kAudioDevicePropertyDeviceIsAlive), &alive) == noErr && !alive) {
    EndWith(EndReason::kError, "EOS", "the tap's aggregate device stopped running");
    return;
  }
  if (!targets_.empty()) {
    bool any_alive = false;
    for (const ProcessEntry& target : targets_) any_alive = any_alive || ProcessExists(target.pid);
    if (!any_alive && !WaitingAlive()) {
      EndWith(EndReason::kTargetExited, "", target_text_ + " exited");
    }
  }
}

void TapSession::ControlLoop() {
  std::unique_ptr<SilenceProbe> probe;
  uint64_t seen_frames = 0;
  uint64_t reported_drops = 0;
  int ticks = 0;
  const bool following = options_.target.kind == TargetKind::kApps;
  auto next_check = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(control_mutex_);
  while (!control_stop_) {
    lock.unlock();
    @autoreleasepool {
      if (opened_ && !ended_ && converter_ != nullptr) ConvertStaged();
      if (!ended_ && std::chrono::steady_clock::now() >= next_check) {
        next_check += kCheckInterval;
        // Waiting: look for the apps every check; recording: once a second.
        if (following && (!opened_ || ++ticks % 4 == 0)) {
          try {
            if (@available(macOS 14.2, *)) FollowApps();
          } catch (const EngineError& error) {
            EndWith(EndReason::kError, error.code, error.what());
          } catch (const std::exception& error) {
            EndWith(EndReason::kError, "EOS", error.what());
          }
        }
        if (opened_ && !ended_) {
          CheckHealth();
          if (!probe) {
            probe = std::make_unique<SilenceProbe>(
                static_cast<uint64_t>(kPermissionProbeSeconds * plan_.input.sample_rate));
          }
          const uint64_t frames = io_frames_.load(std::memory_order_relaxed);
          const bool nonzero = io_nonzero_.load(std::memory_order_relaxed);
          if (!ended_ && !probe->audible() && !probe->suspected() && frames > seen_frames) {
            // Only while exact silence lasts is the target's state worth a HAL query.
            const bool playing = !nonzero && TargetPlaying();
            if (probe->Update(frames - seen_frames, nonzero, playing)) {
              core_->sink()->OnWarning(
                  "EPERMISSION: " + PermissionMessage(FindPermissionHost(ExecutableChain()),
                                                      target_text_));
            }
          }
          seen_frames = frames;
          const uint64_t drops = staging_dropped_frames_.load(std::memory_order_relaxed);
          if (drops > reported_drops) {
            core_->sink()->OnWarning(std::to_string(drops - reported_drops) +
                                     " frames of the tap were dropped before format conversion "
                                     "(the converter fell behind)");
            reported_drops = drops;
          }
        }
      }
    }
    lock.lock();
    const bool converting = opened_ && converter_ != nullptr;
    control_cv_.wait_for(lock, converting ? kConvertInterval : kCheckInterval,
                         [this] { return control_stop_; });
  }
}

// ---- Playback -----------------------------------------------------------------------------

// Every device with a UID, except this backend's own aggregate devices, and whether it has
// output streams.
std::vector<OutputDeviceEntry> ListOutputDeviceEntries() {
  const auto devices = GetArray<AudioObjectID>(
      kAudioObjectSystemObject, Address(kAudioHardwarePropertyDevices),
      "kAudioHardwarePropertyDevices");
  const AudioObjectPropertyAddress streams =
      Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput);
  std::vector<OutputDeviceEntry> entries;
  for (AudioObjectID device : devices) {
    OutputDeviceEntry entry;
    entry.object_id = device;
    entry.uid = TryGetString(device, Address(kAudioDevicePropertyDeviceUID));
    if (entry.uid.empty() || entry.uid.rfind(kAggregateUidPrefix, 0) == 0) continue;
    entry.name = TryGetString(device, Address(kAudioObjectPropertyName));
    UInt32 size = 0;
    entry.has_output = AudioObjectGetPropertyDataSize(device, &streams, 0, nullptr, &size) ==
                           noErr &&
                       size >= sizeof(AudioStreamID);
    entries.push_back(std::move(entry));
  }
  return entries;
}

// The default output device for "", else the device `device` names (ResolveOutputDevice).
AudioObjectID ResolvePlaybackDevice(const std::string& device) {
  if (device.empty()) {
    const auto id = Get<AudioObjectID>(kAudioObjectSystemObject,
                                       Address(kAudioHardwarePropertyDefaultOutputDevice),
                                       "kAudioHardwarePropertyDefaultOutputDevice");
    if (id == kAudioObjectUnknown) {
      throw EngineError("ENOAPP", "there is no default output device; connect one or choose "
                                  "one in System Settings > Sound > Output");
    }
    return id;
  }
  const std::vector<OutputDeviceEntry> entries = ListOutputDeviceEntries();
  return entries[ResolveOutputDevice(device, entries)].object_id;
}

// One playback: a HAL output unit (AUHAL) on one output device. Start() opens it; Stop()
// (also from the destructor, so a failed Start() leaves nothing behind) disposes of it.
// Start and Stop run on the addon's worker or JS thread; Render on the device's IO thread.
class HalPlayback final : public PlaybackSession {
 public:
  HalPlayback(const PlaybackOptions& options, PlaybackCore* core)
      : options_(options), core_(core), bytes_per_frame_(options.format.BytesPerFrame()) {}
  ~HalPlayback() override { Stop(); }
  HalPlayback(const HalPlayback&) = delete;
  HalPlayback& operator=(const HalPlayback&) = delete;

  void Start();
  void Stop() override;
  int64_t OutputLatencyFrames() override;

 private:
  static OSStatus Render(void* client, AudioUnitRenderActionFlags* flags,
                         const AudioTimeStamp* time, UInt32 bus, UInt32 frame_count,
                         AudioBufferList* data);
  void SetUnitProperty(AudioUnitPropertyID property, AudioUnitScope scope,
                       AudioUnitElement element, const void* value, UInt32 size,
                       const char* what);
  void MapMonoToFirstPair();
  int64_t MeasureLatency() const;

  const PlaybackOptions options_;
  PlaybackCore* const core_;
  const uint32_t bytes_per_frame_;

  std::mutex stop_mutex_;
  AudioObjectID device_ = kAudioObjectUnknown;
  AudioComponentInstance unit_ = nullptr;
  bool initialized_ = false;
  bool started_ = false;
  // Measured once the unit runs; OutputLatencyFrames() (the host's stats, JS thread) then
  // makes only one HAL call: is the device still alive.
  int64_t latency_frames_ = -1;
};

void HalPlayback::SetUnitProperty(AudioUnitPropertyID property, AudioUnitScope scope,
                                  AudioUnitElement element, const void* value, UInt32 size,
                                  const char* what) {
  Check(AudioUnitSetProperty(unit_, property, scope, element, value, size),
        std::string("AudioUnitSetProperty(") + what + ")");
}

// The unit converts through an AudioConverter, whose default routing (kAudioConverterChannelMap
// in AudioConverter.h) sends a mono input to the first output channel only and zeroes the
// rest: a mono playback would be heard on the left speaker alone. The unit's channel map, one
// entry per device channel, feeds the device's channels 1 and 2 from the one input channel.
void HalPlayback::MapMonoToFirstPair() {
  AudioStreamBasicDescription device_format{};
  UInt32 size = sizeof(device_format);
  Check(AudioUnitGetProperty(unit_, kAudioUnitProperty_StreamFormat, kAudioUnitScope_Output, 0,
                             &device_format, &size),
        "AudioUnitGetProperty(kAudioUnitProperty_StreamFormat, output scope)");
  if (device_format.mChannelsPerFrame < 2) return;
  std::vector<SInt32> map(device_format.mChannelsPerFrame, -1);
  map[0] = 0;
  map[1] = 0;
  try {
    SetUnitProperty(kAudioOutputUnitProperty_ChannelMap, kAudioUnitScope_Output, 0, map.data(),
                    static_cast<UInt32>(map.size() * sizeof(SInt32)),
                    "kAudioOutputUnitProperty_ChannelMap");
  } catch (const EngineError& error) {
    throw EngineError(error.code, std::string("a mono playback could not be sent to both "
                                              "channels of the device (send stereo instead): ") +
                                      error.what());
  }
}

void HalPlayback::Start() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  // Fail on a bad format before anything is created.
  NegotiateFormat(LayoutOf(options_.format), options_.format);
  device_ = ResolvePlaybackDevice(options_.device);

  AudioComponentDescription description{};
  description.componentType = kAudioUnitType_Output;
  description.componentSubType = kAudioUnitSubType_HALOutput;
  description.componentManufacturer = kAudioUnitManufacturer_Apple;
  AudioComponent component = AudioComponentFindNext(nullptr, &description);
  if (component == nullptr) {
    throw EngineError("EOS", "the HAL output unit (kAudioUnitSubType_HALOutput) was not found");
  }
  Check(AudioComponentInstanceNew(component, &unit_), "AudioComponentInstanceNew(HALOutput)");

  // Output on bus 0 is enabled and input on bus 1 disabled by default: nothing to switch.
  SetUnitProperty(kAudioOutputUnitProperty_CurrentDevice, kAudioUnitScope_Global, 0, &device_,
                  sizeof(device_), "kAudioOutputUnitProperty_CurrentDevice");
  // The input scope of bus 0 is what the render callback delivers; the unit converts it
  // (sample type, rate, channel count) to the device's stream format.
  const AudioStreamBasicDescription format = AsbdFromLayout(LayoutOf(options_.format));
  try {
    SetUnitProperty(kAudioUnitProperty_StreamFormat, kAudioUnitScope_Input, 0, &format,
                    sizeof(format), "kAudioUnitProperty_StreamFormat");
  } catch (const EngineError& error) {
    throw EngineError(error.code, std::string("the output unit does not take ") +
                                      std::to_string(options_.format.sample_rate) + " Hz " +
                                      std::to_string(options_.format.channels) + " ch " +
                                      EncodingName(options_.format.encoding) + ": " +
                                      error.what());
  }
  if (options_.format.channels == 1) MapMonoToFirstPair();
  const AURenderCallbackStruct callback{&HalPlayback::Render, this};
  SetUnitProperty(kAudioUnitProperty_SetRenderCallback, kAudioUnitScope_Input, 0, &callback,
                  sizeof(callback), "kAudioUnitProperty_SetRenderCallback");

  Check(AudioUnitInitialize(unit_), "AudioUnitInitialize(HALOutput)");
  initialized_ = true;
  Check(AudioOutputUnitStart(unit_), "AudioOutputUnitStart");
  started_ = true;
  latency_frames_ = MeasureLatency();
}

void HalPlayback::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  latency_frames_ = -1;
  if (unit_ == nullptr) return;
  // AudioOutputUnitStop, called off the IO thread, returns after the last render callback,
  // so nothing reads the core after this.
  if (started_) AudioOutputUnitStop(unit_);
  if (initialized_) AudioUnitUninitialize(unit_);
  AudioComponentInstanceDispose(unit_);
  unit_ = nullptr;
  initialized_ = false;
  started_ = false;
}

int64_t HalPlayback::OutputLatencyFrames() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (!started_) return -1;
  // An unplugged device stops calling the render callback; there is no latency to report.
  UInt32 alive = 1;
  if (TryGet(device_, Address(kAudioDevicePropertyDeviceIsAlive), &alive) == noErr && !alive) {
    return -1;
  }
  return latency_frames_;
}

int64_t HalPlayback::MeasureLatency() const {
  const auto frames = [](AudioObjectID object, AudioObjectPropertySelector selector,
                          AudioObjectPropertyScope scope) -> int64_t {
    UInt32 value = 0;
    return TryGet(object, Address(selector, scope), &value) == noErr ? value : -1;
  };
  constexpr AudioObjectPropertyScope kOut = kAudioObjectPropertyScopeOutput;
  OutputLatencyParts parts;
  Float64 rate = 0;
  if (TryGet(device_, Address(kAudioDevicePropertyNominalSampleRate), &rate) == noErr) {
    parts.device_sample_rate = rate;
  }
  parts.device_frames = frames(device_, kAudioDevicePropertyLatency, kOut);
  parts.safety_offset_frames = frames(device_, kAudioDevicePropertySafetyOffset, kOut);
  parts.buffer_frames =
      frames(device_, kAudioDevicePropertyBufferFrameSize, kAudioObjectPropertyScopeGlobal);
  std::vector<AudioStreamID> streams;
  try {
    streams = GetArray<AudioStreamID>(device_, Address(kAudioDevicePropertyStreams, kOut),
                                      "kAudioDevicePropertyStreams");
  } catch (const EngineError&) {
    // Left unknown (counted as 0), like a device that reports no stream latency.
  }
  // The first output stream: the unit plays into it (and the next ones for more channels).
  if (!streams.empty()) {
    parts.stream_frames =
        frames(streams.front(), kAudioStreamPropertyLatency, kAudioObjectPropertyScopeGlobal);
  }
  Float64 unit_seconds = 0;
  UInt32 size = sizeof(unit_seconds);
  if (AudioUnitGetProperty(unit_, kAudioUnitProperty_Latency, kAudioUnitScope_Global, 0,
                           &unit_seconds, &size) == noErr) {
    parts.unit_seconds = unit_seconds;
  }
  return OutputLatencyInFrames(parts, options_.format.sample_rate);
}

// The real-time path: the unit's buffer is the playback's interleaved format, filled straight
// from the jitter buffer. No allocation, lock, Objective-C message or system call.
OSStatus HalPlayback::Render(void* client, AudioUnitRenderActionFlags*, const AudioTimeStamp*,
                             UInt32, UInt32 frame_count, AudioBufferList* data) {
  auto* self = static_cast<HalPlayback*>(client);
  if (data == nullptr || data->mNumberBuffers == 0 || data->mBuffers[0].mData == nullptr) {
    return noErr;
  }
  AudioBuffer& buffer = data->mBuffers[0];
  const UInt32 frames =
      std::min<UInt32>(frame_count, buffer.mDataByteSize / self->bytes_per_frame_);
  self->core_->Pull(buffer.mData, frames);
  return noErr;
}

// ---- Backend ------------------------------------------------------------------------------

class CoreAudioBackend final : public Backend {
 public:
  const char* Name() const override { return "coreaudio"; }

  std::vector<AppInfo> ListApps() override {
    if (@available(macOS 14.2, *)) {
      return WithAutoreleasePool([] { return ListAppsImpl(); });
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("listing apps' audio"));
  }

  std::vector<DeviceInfo> ListDevices() override {
    return WithAutoreleasePool([] { return ListDevicesImpl(); });
  }

  std::vector<TapInfo> ListTaps() override {
    if (@available(macOS 14.2, *)) {
      return WithAutoreleasePool([] { return ListTapsImpl(); });
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("listing taps"));
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    if (@available(macOS 14.2, *)) {
      return WithAutoreleasePool([&]() -> std::unique_ptr<CaptureSession> {
        auto session = std::make_unique<TapSession>(options, core);
        session->Open();  // on throw, ~TapSession releases whatever Open() created
        return session;
      });
    }
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("capturing an app's audio"));
  }

  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    return WithAutoreleasePool([&]() -> std::unique_ptr<PlaybackSession> {
      auto playback = std::make_unique<HalPlayback>(options, core);
      playback->Start();  // on throw, ~HalPlayback disposes of whatever Start() created
      return playback;
    });
  }

  // Core Audio has no per-app volume: the tap's mute and the eq node's preamp replace it.
  void SetAppVolume(const AppSelector&, std::optional<double>, std::optional<bool>) override {
    throw EngineError("EUNSUPPORTED",
                      "per-app volume is not available on macOS; use tap-source with mute, "
                      "then eq (preamp) and audio-out");
  }

 private:
  // One Core Audio process object per process: one stream each, no volume or mute of its own.
  static std::vector<AppInfo> ListAppsImpl() {
    std::vector<AppStream> streams;
    for (const ProcessEntry& entry : ListProcessEntries()) {
      AppStream stream;
      stream.pid = entry.pid;
      stream.name = entry.name;
      stream.executable = entry.executable;
      stream.bundle_id = entry.bundle_id;
      stream.playing = entry.running_output;
      streams.push_back(std::move(stream));
    }
    return AppsFromStreams(streams);
  }

  static std::vector<DeviceInfo> ListDevicesImpl() {
    const auto devices = GetArray<AudioObjectID>(
        kAudioObjectSystemObject, Address(kAudioHardwarePropertyDevices),
        "kAudioHardwarePropertyDevices");
    AudioObjectID default_output = kAudioObjectUnknown;
    TryGet(kAudioObjectSystemObject, Address(kAudioHardwarePropertyDefaultOutputDevice),
           &default_output);
    std::vector<DeviceInfo> result;
    for (AudioObjectID device : devices) {
      std::vector<AudioStreamID> streams;
      try {
        streams = GetArray<AudioStreamID>(
            device, Address(kAudioDevicePropertyStreams, kAudioObjectPropertyScopeOutput),
            "kAudioDevicePropertyStreams");
      } catch (const EngineError&) {
        continue;  // unplugged while listing
      }
      if (streams.empty()) continue;
      DeviceInfo info;
      info.id = TryGetString(device, Address(kAudioDevicePropertyDeviceUID));
      if (info.id.empty() || info.id.rfind(kAggregateUidPrefix, 0) == 0) continue;
      info.name = TryGetString(device, Address(kAudioObjectPropertyName));
      info.is_default = device == default_output;
      for (size_t i = 0; i < streams.size(); ++i) {
        AudioStreamBasicDescription format{};
        StreamInfo stream;
        stream.index = static_cast<int32_t>(i);
        if (TryGet(streams[i], Address(kAudioStreamPropertyVirtualFormat), &format) == noErr) {
          stream.channels = format.mChannelsPerFrame;
          stream.sample_rate = format.mSampleRate;
        }
        info.output_streams.push_back(stream);
      }
      result.push_back(std::move(info));
    }
    return result;
  }

  static std::vector<TapInfo> ListTapsImpl() {
    std::vector<TapInfo> result;
    const auto taps = GetArray<AudioObjectID>(
        kAudioObjectSystemObject, Address(kAudioHardwarePropertyTapList),
        "kAudioHardwarePropertyTapList");
    for (AudioObjectID tap : taps) {
      TapInfo info;
      info.uid = TryGetString(tap, Address(kAudioTapPropertyUID));
      if (info.uid.empty()) continue;
      info.name = TryGetString(tap, Address(kAudioObjectPropertyName));
      AudioStreamBasicDescription format{};
      if (TryGet(tap, Address(kAudioTapPropertyFormat), &format) == noErr) {
        info.channels = format.mChannelsPerFrame;
        info.sample_rate = format.mSampleRate;
      }
      result.push_back(std::move(info));
    }
    return result;
  }
};

}  // namespace

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<CoreAudioBackend>(); }

}  // namespace audiotap

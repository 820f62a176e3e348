// Unit tests of native/backends/macos/tap_logic.{h,cc}: the macOS backend's logic that needs no Core Audio.
// Built and run by scripts/test-native.sh (`npm run test:native`, under ASan + UBSan) on any
// OS; mocha runs that script from test/native/native.test.ts.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "backends/macos/tap_logic.h"

using namespace audiotap;

namespace {

// Runs `fn`, expects an EngineError with `code` whose message contains `fragment`.
void ExpectError(const std::function<void()>& fn, const std::string& code,
                 const std::string& fragment, const char* file, int line) {
  try {
    fn();
  } catch (const EngineError& error) {
    if (::check::Record(error.code == code &&
                        std::string(error.what()).find(fragment) != std::string::npos)) {
      return;
    }
    std::fprintf(stderr, "%s:%d: got %s \"%s\", expected %s containing \"%s\"\n", file, line,
                 error.code.c_str(), error.what(), code.c_str(), fragment.c_str());
    return;
  }
  ::check::Record(false);
  std::fprintf(stderr, "%s:%d: no error, expected %s\n", file, line, code.c_str());
}
#define EXPECT_ERROR(stmt, code, fragment) \
  ExpectError([&] { stmt; }, code, fragment, __FILE__, __LINE__)

ProcessEntry Entry(int32_t pid, uint32_t object, const std::string& path,
                   const std::string& bundle_id, bool running = false) {
  ProcessEntry entry;
  entry.pid = pid;
  entry.object_id = object;
  const AppNames names = AppNamesFromPath(path);
  entry.name = names.name;
  entry.executable = names.executable;
  entry.bundle_path = names.bundle_path;
  entry.bundle_id = bundle_id;
  entry.running_output = running;
  return entry;
}

std::vector<ProcessEntry> SampleProcesses() {
  return {
      Entry(412, 101, "/System/Applications/Music.app/Contents/MacOS/Music", "com.apple.Music",
            true),
      Entry(500, 102,
            "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework."
            "framework/Versions/1/Helpers/Google Chrome Helper.app/Contents/MacOS/"
            "Google Chrome Helper",
            "com.google.Chrome.helper"),
      Entry(501, 103,
            "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework."
            "framework/Versions/1/Helpers/Google Chrome Helper.app/Contents/MacOS/"
            "Google Chrome Helper",
            "com.google.Chrome.helper"),
      Entry(499, 107, "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "com.google.Chrome"),
      Entry(600, 104, "/usr/local/bin/mpv", ""),
      Entry(650, 108, "/opt/bin/sox", ""),
      Entry(651, 109, "/opt/bin/sox", ""),
      Entry(700, 105, "/Applications/Player.app/Contents/MacOS/Player", "com.one.player"),
      Entry(701, 106, "/Applications/Other/Player.app/Contents/MacOS/Player", "com.two.player"),
  };
}

// ---- OSStatus ----

void TestOSStatusText() {
  EXPECT(OSStatusText(0x6e6f7065) == "'nope' (1852797029)");
  EXPECT(OSStatusText(-50) == "-50");
  EXPECT(OSStatusText(0) == "0");
}

void TestMapOSStatus() {
  const EngineError permission = MapOSStatus("AudioHardwareCreateProcessTap", 0x6e6f7065);
  EXPECT(permission.code == "EPERMISSION");
  EXPECT(std::string(permission.what()).find("AudioHardwareCreateProcessTap") == 0);
  EXPECT(std::string(permission.what()).find("'nope'") != std::string::npos);
  EXPECT(MapOSStatus("AudioConverterNew", 0x666d743f).code == "EFORMAT");  // 'fmt?'
  EXPECT(MapOSStatus("AudioDeviceStart", 0x756e6f70).code == "EUNSUPPORTED");  // 'unop'
  const EngineError other = MapOSStatus("AudioDeviceStart", 0x21646576);  // '!dev'
  EXPECT(other.code == "EOS");
  EXPECT(std::string(other.what()).find("bad device") != std::string::npos);
  EXPECT(MapOSStatus("X", -50).code == "EOS");
  const EngineError unit_format = MapOSStatus("AudioUnitSetProperty(StreamFormat)", -10868);
  EXPECT(unit_format.code == "EFORMAT");
  EXPECT(std::string(unit_format.what()).find("-10868") != std::string::npos);
  EXPECT(std::string(unit_format.what()).find("does not support this format") !=
         std::string::npos);
}

// ---- Names and selectors ----

void TestAppNamesFromPath() {
  const AppNames music = AppNamesFromPath("/System/Applications/Music.app/Contents/MacOS/Music");
  EXPECT(music.name == "Music");
  EXPECT(music.executable == "Music");
  const AppNames helper = AppNamesFromPath(
      "/Applications/Google Chrome.app/Contents/Frameworks/Helpers/Google Chrome Helper.app/"
      "Contents/MacOS/Google Chrome Helper");
  EXPECT(helper.name == "Google Chrome");
  EXPECT(helper.executable == "Google Chrome Helper");
  EXPECT(helper.bundle_path == "/Applications/Google Chrome.app");
  const AppNames tool = AppNamesFromPath("/usr/local/bin/mpv");
  EXPECT(tool.name == "mpv");
  EXPECT(tool.executable == "mpv");
  EXPECT(tool.bundle_path.empty());
  EXPECT(AppNamesFromPath("").name.empty());
  // ".app" only counts as a whole path component's suffix.
  EXPECT(AppNamesFromPath("/opt/my.application/bin/x").name == "x");
}

void TestNameMatches() {
  EXPECT(NameMatches("music", "Music", "Music", "com.apple.Music"));
  EXPECT(NameMatches("COM.APPLE.MUSIC", "Music", "Music", "com.apple.Music"));
  EXPECT(NameMatches("google chrome helper", "Google Chrome", "Google Chrome Helper", ""));
  EXPECT(!NameMatches("Musi", "Music", "Music", "com.apple.Music"));
  EXPECT(!NameMatches("", "", "", ""));
  EXPECT(!NameMatches("x", "", "", ""));
}

void TestMatchByPid() {
  const auto processes = SampleProcesses();
  const auto match = MatchSelector(AppSelector{600, ""}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].object_id == 104);
  EXPECT_ERROR(MatchSelector(AppSelector{9999, ""}, processes), "ENOAPP", "9999");
}

void TestMatchByName() {
  const auto processes = SampleProcesses();
  auto match = MatchSelector(AppSelector{0, "music"}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].pid == 412);
  match = MatchSelector(AppSelector{0, "COM.APPLE.MUSIC"}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].pid == 412);
  match = MatchSelector(AppSelector{0, "mpv"}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].pid == 600);
  // An app and its helpers (one .app bundle, different bundle IDs) are one app: all tapped.
  match = MatchSelector(AppSelector{0, "Google Chrome"}, processes);
  EXPECT(match.size() == 3);
  match = MatchSelector(AppSelector{0, "google chrome helper"}, processes);
  EXPECT(match.size() == 2);
  match = MatchSelector(AppSelector{0, "com.google.Chrome"}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].pid == 499);
  // Partial names do not match.
  EXPECT_ERROR(MatchSelector(AppSelector{0, "Chrome"}, processes), "ENOAPP", "\"Chrome\"");
  EXPECT_ERROR(MatchSelector(AppSelector{0, "Chrome"}, processes), "ENOAPP",
               "Apps with audio now: Music, Google Chrome, mpv, sox, Player");
  EXPECT_ERROR(MatchSelector(AppSelector{0, "x"}, {}), "ENOAPP", "Apps with audio now: none");
  EXPECT_ERROR(MatchSelector(AppSelector{0, ""}, processes), "ENOAPP", "pid > 0");
}

void TestMatchAmbiguous() {
  const auto processes = SampleProcesses();
  EXPECT_ERROR(MatchSelector(AppSelector{0, "Player"}, processes), "EAMBIGUOUS",
               "700 Player (com.one.player), 701 Player (com.two.player)");
  // Two instances of one plain executable are two apps.
  EXPECT_ERROR(MatchSelector(AppSelector{0, "sox"}, processes), "EAMBIGUOUS", "650 sox, 651 sox");
  // Outside bundles, one bundle ID is one app.
  std::vector<ProcessEntry> unbundled = {Entry(800, 110, "", "org.example.daemon"),
                                         Entry(801, 111, "", "org.example.daemon")};
  unbundled[0].name = unbundled[1].name = "daemon";
  EXPECT(MatchSelector(AppSelector{0, "daemon"}, unbundled).size() == 2);
  // The bundle ID tells them apart.
  const auto match = MatchSelector(AppSelector{0, "com.two.player"}, processes);
  EXPECT(match.size() == 1 && processes[match[0]].pid == 701);
}

void TestResolveProcessObjects() {
  const auto processes = SampleProcesses();
  const auto objects = ResolveProcessObjects(
      {AppSelector{0, "Music"}, AppSelector{412, ""}, AppSelector{0, "Google Chrome"}},
      processes);
  EXPECT((objects == std::vector<uint32_t>{101, 102, 103, 107}));
  EXPECT(ResolveProcessObjects({}, processes).empty());
}

// ---- Tap plan ----

void TestPlanApps() {
  CaptureOptions options;
  options.target.kind = TargetKind::kApp;
  options.format.channels = 2;
  TapPlan plan = PlanTap(options, {101, 102});
  EXPECT(!plan.exclusive && plan.mixdown && !plan.mono);
  EXPECT((plan.processes == std::vector<uint32_t>{101, 102}));
  EXPECT(plan.mute == MuteMode::kUnmuted && plan.private_tap);
  EXPECT(plan.device_uid.empty() && plan.stream == -1);

  options.format.channels = 1;
  options.mute = true;
  plan = PlanTap(options, {101});
  EXPECT(plan.mono && plan.mute == MuteMode::kMuted);

  options.mute_mode = MuteMode::kMutedWhenTapped;
  options.private_tap = false;
  plan = PlanTap(options, {101});
  EXPECT(plan.mute == MuteMode::kMutedWhenTapped && !plan.private_tap);

  options.mute_mode = MuteMode::kUnmuted;  // overrides mute = true
  EXPECT(PlanTap(options, {101}).mute == MuteMode::kUnmuted);

  EXPECT_ERROR(PlanTap(options, {}), "ENOAPP", "at least one app");
}

void TestPlanSystemAndDevice() {
  CaptureOptions options;
  options.target.kind = TargetKind::kSystem;
  TapPlan plan = PlanTap(options, {});
  EXPECT(plan.exclusive && plan.processes.empty() && plan.mixdown);
  plan = PlanTap(options, {104});
  EXPECT(plan.exclusive && (plan.processes == std::vector<uint32_t>{104}));

  options.device = "BuiltInSpeakerDevice";
  plan = PlanTap(options, {});
  EXPECT(plan.device_uid == "BuiltInSpeakerDevice" && plan.stream == -1 && plan.mixdown);

  options.device_stream = 1;
  options.format.channels = 1;
  plan = PlanTap(options, {});
  EXPECT(plan.stream == 1 && !plan.mixdown && !plan.mono && plan.exclusive);

  options.device.clear();
  EXPECT_ERROR(PlanTap(options, {}), "EUNSUPPORTED", "needs a device UID");

  options.target.kind = TargetKind::kTap;
  EXPECT_ERROR(PlanTap(options, {}), "EUNSUPPORTED", "attached by its UID");
}

// ---- Format negotiation ----

PcmLayout TapFloat(double rate, uint32_t channels, bool non_interleaved = false) {
  PcmLayout layout;
  layout.sample_rate = rate;
  layout.channels = channels;
  layout.bits_per_channel = 32;
  layout.bytes_per_frame = non_interleaved ? 4 : 4 * channels;
  layout.linear_pcm = true;
  layout.is_float = true;
  layout.is_packed = true;
  layout.non_interleaved = non_interleaved;
  return layout;
}

void TestNegotiateDirect() {
  Format asked{48000, 2, SampleEncoding::kF32LE};
  FormatPlan plan = NegotiateFormat(TapFloat(48000, 2), asked);
  EXPECT(plan.path == FormatPath::kDirect && !plan.interleave);
  EXPECT(plan.output.bytes_per_frame == 8 && plan.output.is_float);

  plan = NegotiateFormat(TapFloat(48000, 2, true), asked);
  EXPECT(plan.path == FormatPath::kDirect && plan.interleave);
  EXPECT(plan.input.bytes_per_frame == 8 && !plan.input.non_interleaved);

  // One channel in one buffer is interleaved already.
  asked.channels = 1;
  plan = NegotiateFormat(TapFloat(48000, 1, true), asked);
  EXPECT(plan.path == FormatPath::kDirect && !plan.interleave);
}

void TestNegotiateConvert() {
  FormatPlan plan = NegotiateFormat(TapFloat(48000, 2), Format{48000, 2, SampleEncoding::kS16LE});
  EXPECT(plan.path == FormatPath::kConvert);
  EXPECT(plan.output.bits_per_channel == 16 && plan.output.is_signed_integer &&
         plan.output.bytes_per_frame == 4);
  plan = NegotiateFormat(TapFloat(44100, 2), Format{48000, 2, SampleEncoding::kF32LE});
  EXPECT(plan.path == FormatPath::kConvert);
  plan = NegotiateFormat(TapFloat(48000, 6), Format{48000, 2, SampleEncoding::kF32LE});
  EXPECT(plan.path == FormatPath::kConvert && plan.input.channels == 6);
  PcmLayout big = TapFloat(48000, 2);
  big.is_big_endian = true;
  EXPECT(NegotiateFormat(big, Format{48000, 2, SampleEncoding::kF32LE}).path ==
         FormatPath::kConvert);
  PcmLayout s24;
  s24.sample_rate = 96000;
  s24.channels = 2;
  s24.bits_per_channel = 24;
  s24.bytes_per_frame = 6;
  s24.linear_pcm = true;
  s24.is_signed_integer = true;
  s24.is_packed = true;
  EXPECT(NegotiateFormat(s24, Format{48000, 2, SampleEncoding::kS16LE}).path ==
         FormatPath::kConvert);
}

void TestNegotiateFailsClosed() {
  const Format ok{48000, 2, SampleEncoding::kF32LE};
  EXPECT_ERROR(NegotiateFormat(TapFloat(48000, 2), Format{4000, 2, SampleEncoding::kF32LE}),
               "EFORMAT", "4000 Hz");
  EXPECT_ERROR(NegotiateFormat(TapFloat(48000, 2), Format{48000, 3, SampleEncoding::kF32LE}),
               "EFORMAT", "3 channels");
  PcmLayout compressed = TapFloat(48000, 2);
  compressed.linear_pcm = false;
  EXPECT_ERROR(NegotiateFormat(compressed, ok), "EFORMAT", "not linear PCM");
  PcmLayout odd = TapFloat(48000, 2);
  odd.bits_per_channel = 20;
  EXPECT_ERROR(NegotiateFormat(odd, ok), "EFORMAT", "20-bit");
  PcmLayout unpacked = TapFloat(48000, 2);
  unpacked.is_packed = false;
  EXPECT_ERROR(NegotiateFormat(unpacked, ok), "EFORMAT", "unpacked");
  PcmLayout wrong_size = TapFloat(48000, 2);
  wrong_size.bytes_per_frame = 12;
  EXPECT_ERROR(NegotiateFormat(wrong_size, ok), "EFORMAT", "12 bytes per frame");
  EXPECT_ERROR(NegotiateFormat(TapFloat(0, 2), ok), "EFORMAT", "0 Hz");
}

// ---- Permission ----

void TestIsExactSilence() {
  std::vector<float> samples(1001, 0.0f);
  EXPECT(IsExactSilence(samples.data(), samples.size() * sizeof(float)));
  EXPECT(IsExactSilence(samples.data(), 0));
  samples[1000] = 1e-30f;  // in the unaligned tail
  EXPECT(!IsExactSilence(samples.data(), samples.size() * sizeof(float)));
  samples[1000] = 0.0f;
  samples[3] = -1.0f;
  EXPECT(!IsExactSilence(samples.data(), samples.size() * sizeof(float)));
  // A denormal-quiet signal is not exact silence.
  samples[3] = 0.0f;
  samples[500] = std::ldexp(1.0f, -140);
  EXPECT(!IsExactSilence(samples.data(), samples.size() * sizeof(float)));
}

void TestSilenceProbe() {
  // Silent while the target plays: suspected once the threshold is reached, reported once.
  SilenceProbe probe(48000 * 3);
  EXPECT(!probe.Update(48000, false, true));
  EXPECT(!probe.Update(48000, false, true));
  EXPECT(probe.Update(48000, false, true));
  EXPECT(probe.suspected());
  EXPECT(!probe.Update(48000, false, true));

  // Silence while the target does not play does not count.
  SilenceProbe idle(48000 * 3);
  for (int i = 0; i < 10; ++i) EXPECT(!idle.Update(48000, false, false));
  EXPECT(idle.silent_frames() == 0 && !idle.suspected());
  EXPECT(!idle.Update(48000 * 2, false, true));
  EXPECT(idle.Update(48000, false, true));

  // One non-zero sample proves the permission: never suspected afterwards.
  SilenceProbe audible(48000 * 3);
  EXPECT(!audible.Update(48000 * 2, false, true));
  EXPECT(!audible.Update(100, true, true));
  EXPECT(audible.audible());
  EXPECT(!audible.Update(48000 * 10, false, true));
  EXPECT(!audible.suspected());
}

void TestFindPermissionHost() {
  PermissionHost host = FindPermissionHost(
      {"/opt/homebrew/bin/node", "/bin/zsh", "/usr/bin/login",
       "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal"});
  EXPECT(host.app_bundle && host.name == "Terminal");
  EXPECT(host.path == "/System/Applications/Utilities/Terminal.app");

  host = FindPermissionHost({"/usr/local/bin/node", "/bin/zsh",
                             "/Applications/iTerm.app/Contents/MacOS/iTerm2"});
  EXPECT(host.name == "iTerm" && host.path == "/Applications/iTerm.app");

  // An editor's helper process: the outermost bundle is the app.
  host = FindPermissionHost(
      {"/usr/local/bin/node", "/bin/zsh",
       "/Applications/Visual Studio Code.app/Contents/Frameworks/Code Helper.app/Contents/"
       "MacOS/Code Helper"});
  EXPECT(host.name == "Visual Studio Code");

  // A launchd service (or pm2 under it): node itself.
  host = FindPermissionHost({"/opt/homebrew/Cellar/node/22.1.0/bin/node", "/sbin/launchd"});
  EXPECT(!host.app_bundle && host.name == "node");
  EXPECT(host.path == "/opt/homebrew/Cellar/node/22.1.0/bin/node");

  EXPECT(FindPermissionHost({}).name == "node");
}

void TestPermissionMessage() {
  PermissionHost terminal{"Terminal", "/System/Applications/Utilities/Terminal.app", true};
  const std::string message = PermissionMessage(terminal, "Music (pid 412)");
  EXPECT(message.find("Music (pid 412)") != std::string::npos);
  EXPECT(message.find("Terminal (/System/Applications/Utilities/Terminal.app)") !=
         std::string::npos);
  EXPECT(message.find("Privacy & Security") != std::string::npos);
  EXPECT(message.find("restart Terminal") != std::string::npos);

  PermissionHost node{"node", "/usr/local/bin/node", false};
  const std::string service = PermissionMessage(node, "the system mix");
  EXPECT(service.find("the node executable at /usr/local/bin/node") != std::string::npos);
  EXPECT(service.find("service running Node-RED") != std::string::npos);

  const std::string mic =
      MicrophonePermissionMessage(terminal, "the input \"MacBook Pro Microphone\"");
  EXPECT(mic.find("the input \"MacBook Pro Microphone\" delivers only exact silence") == 0);
  EXPECT(mic.find("microphone permission to Terminal (/System/Applications/Utilities/"
                  "Terminal.app)") != std::string::npos);
  EXPECT(mic.find("Privacy & Security > Microphone") != std::string::npos);
  EXPECT(mic.find("tccutil reset Microphone") != std::string::npos);
  EXPECT(MicrophonePermissionMessage(node, "the input \"USB\"").find("service running Node-RED") !=
         std::string::npos);

  EXPECT(RequiresMacOS142Message("listing taps") ==
         "listing taps requires macOS 14.2 or later (Core Audio process taps)");
}

// ---- Capture times ----

void TestFrameCaptureNs() {
  // Never stamped, or no rate: not timed.
  EXPECT_EQ(FrameCaptureNs(100, 48000, 0, 48000, 0), 0);
  EXPECT_EQ(FrameCaptureNs(100, 0, 0, 48000, 5), 0);
  EXPECT_EQ(FrameCaptureNs(100, 48000, 0, -1, 5), 0);
  // Same rate: 480 frames after the stamp are 10 ms after it; before it, earlier.
  EXPECT_EQ(FrameCaptureNs(1480, 48000, 1000, 48000, 5000000000), 5010000000);
  EXPECT_EQ(FrameCaptureNs(520, 48000, 1000, 48000, 5000000000), 4990000000);
  EXPECT_EQ(FrameCaptureNs(0, 48000, 0, 48000, 7), 7);
  // Resampled 44.1 kHz -> 48 kHz: output frame 48000 is input frame 44100, one second in.
  EXPECT_EQ(FrameCaptureNs(48000, 48000, 0, 44100, 1000000000), 2000000000);
  // The stamp half a second into the input; output frame 24000 is that same instant.
  EXPECT_EQ(FrameCaptureNs(24000, 48000, 22050, 44100, 3000000000), 3000000000);
  // A stamp that comes out at exactly 0 is moved off the "not timed" value.
  EXPECT_EQ(FrameCaptureNs(0, 48000, 480, 48000, 10000000), 1);
}

// ---- Devices and playback ----

DeviceEntry Device(uint32_t object, const std::string& uid, const std::string& name,
                   bool has_output = true, bool has_input = false) {
  DeviceEntry device;
  device.object_id = object;
  device.uid = uid;
  device.name = name;
  device.has_output = has_output;
  device.has_input = has_input;
  return device;
}

std::vector<DeviceEntry> SampleDevices() {
  return {
      Device(40, "BuiltInMicrophoneDevice", "MacBook Pro Microphone", false, true),
      Device(47, "BuiltInSpeakerDevice", "MacBook Pro Speakers"),
      Device(52, "AppleUSBAudioEngine:Focusrite:Scarlett:1", "Scarlett 2i2"),
      Device(53, "AppleUSBAudioEngine:Focusrite:Scarlett:2", "Scarlett 2i2"),
      Device(60, "BlackHole2ch_UID", "BlackHole 2ch"),
  };
}

void TestResolveOutputDevice() {
  const std::vector<DeviceEntry> devices = SampleDevices();
  EXPECT(ResolveOutputDevice("BuiltInSpeakerDevice", devices) == 1);
  EXPECT(ResolveOutputDevice("macbook pro speakers", devices) == 1);
  EXPECT(ResolveOutputDevice("BLACKHOLE 2CH", devices) == 4);
  // A UID picks one of two devices with the same name.
  EXPECT(ResolveOutputDevice("AppleUSBAudioEngine:Focusrite:Scarlett:2", devices) == 3);
  // UIDs match exactly, not ignoring case.
  EXPECT_ERROR(ResolveOutputDevice("builtinspeakerdevice", devices), "ENOAPP",
               "no output device has the UID or name \"builtinspeakerdevice\"");
  EXPECT_ERROR(ResolveOutputDevice("Scarlett 2i2", devices), "EAMBIGUOUS",
               "choose one by its UID");
  EXPECT_ERROR(ResolveOutputDevice("Speakers", devices), "ENOAPP",
               "\"MacBook Pro Speakers\" (UID BuiltInSpeakerDevice), \"Scarlett 2i2\" (UID "
               "AppleUSBAudioEngine:Focusrite:Scarlett:1)");
  // The input device is not offered, and choosing it says why it does not play.
  try {
    ResolveOutputDevice("nothing", devices);
  } catch (const EngineError& error) {
    EXPECT(std::string(error.what()).find("Microphone") == std::string::npos);
  }
  EXPECT_ERROR(ResolveOutputDevice("BuiltInMicrophoneDevice", devices), "ENOAPP",
               "input device");
  EXPECT_ERROR(ResolveOutputDevice("macbook pro microphone", devices), "ENOAPP",
               "input device");
  EXPECT_ERROR(ResolveOutputDevice("x", {Device(40, "Mic", "Mic", false)}), "ENOAPP",
               "there is no output device");
  EXPECT_ERROR(ResolveOutputDevice("", devices), "ENOAPP", "");
}

void TestResolveInputDevice() {
  std::vector<DeviceEntry> devices = SampleDevices();
  devices[2].has_input = true;  // one Scarlett 2i2 has inputs, the other (output only) not
  devices.push_back(Device(70, "Scarlett:in", "Scarlett 2i2", false, true));
  EXPECT(ResolveInputDevice("BuiltInMicrophoneDevice", devices) == 0);
  EXPECT(ResolveInputDevice("MACBOOK PRO MICROPHONE", devices) == 0);
  EXPECT(ResolveInputDevice("Scarlett:in", devices) == 5);
  EXPECT_ERROR(ResolveInputDevice("Scarlett 2i2", devices), "EAMBIGUOUS",
               "several input devices are named \"Scarlett 2i2\"; choose one by its UID");
  // An output-only device says why it does not record, and the list names inputs only.
  EXPECT_ERROR(ResolveInputDevice("BuiltInSpeakerDevice", devices), "ENOAPP",
               "has no input streams: it is an output device; the input devices are "
               "\"MacBook Pro Microphone\" (UID BuiltInMicrophoneDevice)");
  EXPECT_ERROR(ResolveInputDevice("blackhole 2ch", devices), "ENOAPP",
               "the device named \"blackhole 2ch\" has no input streams");
  try {
    ResolveInputDevice("nothing", devices);
    EXPECT(false);
  } catch (const EngineError& error) {
    const std::string message = error.what();
    EXPECT(message.find("no input device has the UID or name \"nothing\"") == 0);
    EXPECT(message.find("Speakers") == std::string::npos);
    EXPECT(message.find("System Settings > Sound > Input") != std::string::npos);
  }
  EXPECT_ERROR(ResolveInputDevice("x", {Device(47, "Spk", "Spk")}), "ENOAPP",
               "there is no input device");
}

void TestOutputLatencyInFrames() {
  OutputLatencyParts parts;
  parts.device_sample_rate = 48000;
  parts.device_frames = 24;
  parts.safety_offset_frames = 144;
  parts.buffer_frames = 512;
  parts.stream_frames = 0;
  EXPECT(OutputLatencyInFrames(parts, 48000) == 680);
  // 680 frames at 48 kHz = 14.1667 ms = 624.75 frames at 44.1 kHz, rounded.
  EXPECT(OutputLatencyInFrames(parts, 44100) == 625);
  parts.stream_frames = 40;
  EXPECT(OutputLatencyInFrames(parts, 48000) == 720);
  parts.stream_frames = -1;  // unknown counts as 0
  EXPECT(OutputLatencyInFrames(parts, 48000) == 680);
  parts.unit_seconds = 0.001;  // the output unit's resampler
  EXPECT(OutputLatencyInFrames(parts, 48000) == 728);
  EXPECT(OutputLatencyInFrames(parts, 96000) == 1456);

  OutputLatencyParts unknown = parts;
  unknown.device_sample_rate = 0;
  EXPECT(OutputLatencyInFrames(unknown, 48000) == -1);
  unknown = parts;
  unknown.device_frames = -1;
  EXPECT(OutputLatencyInFrames(unknown, 48000) == -1);
  unknown = parts;
  unknown.safety_offset_frames = -1;
  EXPECT(OutputLatencyInFrames(unknown, 48000) == -1);
  unknown = parts;
  unknown.buffer_frames = -1;
  EXPECT(OutputLatencyInFrames(unknown, 48000) == -1);
  EXPECT(OutputLatencyInFrames(parts, 0) == -1);
}

}  // namespace

int main(int argc, char** argv) {
  const check::Test tests[] = {
      {"OSStatusText", TestOSStatusText},
      {"MapOSStatus", TestMapOSStatus},
      {"AppNamesFromPath", TestAppNamesFromPath},
      {"NameMatches", TestNameMatches},
      {"MatchByPid", TestMatchByPid},
      {"MatchByName", TestMatchByName},
      {"MatchAmbiguous", TestMatchAmbiguous},
      {"ResolveProcessObjects", TestResolveProcessObjects},
      {"PlanApps", TestPlanApps},
      {"PlanSystemAndDevice", TestPlanSystemAndDevice},
      {"NegotiateDirect", TestNegotiateDirect},
      {"NegotiateConvert", TestNegotiateConvert},
      {"NegotiateFailsClosed", TestNegotiateFailsClosed},
      {"IsExactSilence", TestIsExactSilence},
      {"SilenceProbe", TestSilenceProbe},
      {"FindPermissionHost", TestFindPermissionHost},
      {"PermissionMessage", TestPermissionMessage},
      {"FrameCaptureNs", TestFrameCaptureNs},
      {"ResolveOutputDevice", TestResolveOutputDevice},
      {"ResolveInputDevice", TestResolveInputDevice},
      {"OutputLatencyInFrames", TestOutputLatencyInFrames},
  };
  return check::RunTests(tests, argc, argv);
}

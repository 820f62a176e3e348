// The Windows backend: WASAPI audio sessions for listing apps and per-app volume, process
// loopback (Windows 10 build 19041+, documented from build 20348) for capturing one app's
// process tree or the system mix minus one, endpoint loopback for the whole system mix, and
// a shared-mode render stream for playback (audio-out).
//
// Threads:
//  - Backend methods run on the host's worker thread; each joins the MTA for its own calls.
//  - A capture runs one capture thread per audio client (MTA, MMCSS "Pro Audio"). It opens
//    its client, then only waits for the client's event and copies packets into its own
//    CaptureCore source: no allocation, lock or COM-allocating call in that loop.
//  - One control thread per capture watches the target processes, turns capture-thread
//    failures and data discontinuities into CaptureCore::End / warnings, and (system mix
//    minus several apps) follows audio sessions that appear later.
//  - A playback runs one render thread (MTA, MMCSS "Pro Audio") that owns its audio client;
//    on each buffer event it only tops the endpoint buffer up through PlaybackCore::Pull.
#include <windows.h>

#include <audioclient.h>
#include <audiopolicy.h>
#include <avrt.h>
#include <mmdeviceapi.h>

#if defined(__has_include)
#if __has_include(<audioclientactivationparams.h>)
#include <audioclientactivationparams.h>
#define AUDIOTAP_HAVE_ACTIVATION_PARAMS 1
#endif
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/capture_core.h"
#include "core/engine.h"
#include "core/playback_core.h"
#include "backends/windows/wasapi_util_win.h"

#ifndef AUDIOTAP_HAVE_ACTIVATION_PARAMS
// Windows SDKs before 10.0.20348 and mingw-w64 before 11 lack audioclientactivationparams.h.
// These declarations follow the documented layout of that header.
typedef enum AUDIOCLIENT_ACTIVATION_TYPE {
  AUDIOCLIENT_ACTIVATION_TYPE_DEFAULT = 0,
  AUDIOCLIENT_ACTIVATION_TYPE_PROCESS_LOOPBACK = 1,
} AUDIOCLIENT_ACTIVATION_TYPE;

typedef enum PROCESS_LOOPBACK_MODE {
  PROCESS_LOOPBACK_MODE_INCLUDE_TARGET_PROCESS_TREE = 0,
  PROCESS_LOOPBACK_MODE_EXCLUDE_TARGET_PROCESS_TREE = 1,
} PROCESS_LOOPBACK_MODE;

typedef struct AUDIOCLIENT_PROCESS_LOOPBACK_PARAMS {
  DWORD TargetProcessId;
  PROCESS_LOOPBACK_MODE ProcessLoopbackMode;
} AUDIOCLIENT_PROCESS_LOOPBACK_PARAMS;

typedef struct AUDIOCLIENT_ACTIVATION_PARAMS {
  AUDIOCLIENT_ACTIVATION_TYPE ActivationType;
  union {
    AUDIOCLIENT_PROCESS_LOOPBACK_PARAMS ProcessLoopbackParams;
  };
} AUDIOCLIENT_ACTIVATION_PARAMS;

#define VIRTUAL_AUDIO_DEVICE_PROCESS_LOOPBACK L"VAD\\Process_Loopback"
#endif

namespace audiotap {
namespace {

using win::Check;
using win::ComApartment;
using win::ComPtr;
using win::Handle;
using win::ProcessTable;

// Process loopback exists from build 19041 (Windows 10 2004); Microsoft documents build
// 20348 as the minimum, so builds in between are tried and fail with EUNSUPPORTED if the
// activation is refused.
constexpr uint32_t kFirstProcessLoopbackBuild = 19041;
constexpr uint32_t kDocumentedProcessLoopbackBuild = 20348;

constexpr REFERENCE_TIME kBufferDuration = 2000000;  // 200 ms in 100-ns units
// Capture threads also drain on this timeout: event-driven loopback on an endpoint only
// signals from Windows 10 1703, so earlier builds are served by polling well within the buffer.
constexpr DWORD kCapturePollMs = 50;
// Loopback clients deliver no packets while nothing in their scope renders (an app between
// sounds, an idle system mix). After this long without a packet the source counts as paused,
// so the core fills the timeline with silence instead of waiting for it.
constexpr ULONGLONG kIdleAfterMs = 200;
constexpr DWORD kActivationTimeoutMs = 5000;
constexpr DWORD kControlTickMs = 250;
constexpr int64_t kSessionPollMs = 1000;
constexpr int64_t kWarningIntervalMs = 5000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ProcessLoopbackUnsupportedMessage(uint32_t build) {
  return "capturing apps, or the system mix minus apps, uses process loopback, which requires "
         "Windows 10 version 2004 (build " +
         std::to_string(kFirstProcessLoopbackBuild) + ") or later; Microsoft documents build " +
         std::to_string(kDocumentedProcessLoopbackBuild) +
         " as the minimum (Windows Server 2022; on desktops, Windows 11). This is build " +
         (build ? std::to_string(build) : std::string("(unknown)")) +
         ". The whole system mix (target \"system\" with no exclusions) works on any Windows 10.";
}

// ---- Audio sessions ----

struct SessionInfo {
  DWORD pid = 0;
  std::string display_name;
  AudioSessionState state = AudioSessionStateInactive;
  float volume = 1.0f;
  bool muted = false;
  ComPtr<ISimpleAudioVolume> simple_volume;
};

ComPtr<IMMDeviceEnumerator> CreateDeviceEnumerator() {
  ComPtr<IMMDeviceEnumerator> enumerator;
  Check("CoCreateInstance(MMDeviceEnumerator)",
        CoCreateInstance(__uuidof(MMDeviceEnumerator), nullptr, CLSCTX_ALL,
                         __uuidof(IMMDeviceEnumerator), enumerator.PutVoid()));
  return enumerator;
}

// Every audio session with a single owning process on every active render endpoint. The
// system-sounds session and cross-process sessions are left out: neither has one PID that
// process loopback could target.
std::vector<SessionInfo> EnumerateSessions() {
  ComPtr<IMMDeviceEnumerator> enumerator = CreateDeviceEnumerator();
  ComPtr<IMMDeviceCollection> endpoints;
  Check("IMMDeviceEnumerator::EnumAudioEndpoints",
        enumerator->EnumAudioEndpoints(eRender, DEVICE_STATE_ACTIVE, endpoints.Put()));
  UINT endpoint_count = 0;
  Check("IMMDeviceCollection::GetCount", endpoints->GetCount(&endpoint_count));

  std::vector<SessionInfo> sessions;
  for (UINT e = 0; e < endpoint_count; ++e) {
    ComPtr<IMMDevice> endpoint;
    if (FAILED(endpoints->Item(e, endpoint.Put()))) continue;
    ComPtr<IAudioSessionManager2> manager;
    Check("IMMDevice::Activate(IAudioSessionManager2)",
          endpoint->Activate(__uuidof(IAudioSessionManager2), CLSCTX_ALL, nullptr,
                             manager.PutVoid()));
    ComPtr<IAudioSessionEnumerator> list;
    Check("IAudioSessionManager2::GetSessionEnumerator", manager->GetSessionEnumerator(list.Put()));
    int count = 0;
    Check("IAudioSessionEnumerator::GetCount", list->GetCount(&count));
    for (int i = 0; i < count; ++i) {
      ComPtr<IAudioSessionControl> control;
      if (FAILED(list->GetSession(i, control.Put()))) continue;
      ComPtr<IAudioSessionControl2> control2;
      if (FAILED(control->QueryInterface(__uuidof(IAudioSessionControl2), control2.PutVoid()))) {
        continue;
      }
      if (control2->IsSystemSoundsSession() == S_OK) continue;
      DWORD pid = 0;
      // AUDCLNT_S_NO_SINGLE_PROCESS is a success code: the session spans processes.
      if (control2->GetProcessId(&pid) != S_OK || pid == 0) continue;
      SessionInfo info;
      info.pid = pid;
      if (FAILED(control2->GetState(&info.state)) || info.state == AudioSessionStateExpired) {
        continue;
      }
      wchar_t* display = nullptr;
      if (SUCCEEDED(control2->GetDisplayName(&display)) && display) {
        // "@%SystemRoot%\...,-123" names are resource references, not names.
        if (display[0] != L'@') info.display_name = win::ToUtf8(display);
        CoTaskMemFree(display);
      }
      if (SUCCEEDED(control2->QueryInterface(__uuidof(ISimpleAudioVolume),
                                             info.simple_volume.PutVoid()))) {
        BOOL muted = FALSE;
        if (FAILED(info.simple_volume->GetMasterVolume(&info.volume))) info.volume = 1.0f;
        if (SUCCEEDED(info.simple_volume->GetMute(&muted))) info.muted = muted != FALSE;
      }
      sessions.push_back(std::move(info));
    }
  }
  return sessions;
}

bool NameMatches(const std::string& wanted_lower, const std::string& candidate) {
  if (candidate.empty()) return false;
  const std::string lower = win::Lower(candidate);
  if (lower == wanted_lower) return true;
  // "firefox" matches "firefox.exe".
  return lower.size() > 4 && lower.compare(lower.size() - 4, 4, ".exe") == 0 &&
         lower.compare(0, lower.size() - 4, wanted_lower) == 0;
}

// Resolves a selector to the root of one process tree. A name is matched case-insensitively
// against executable names (with or without ".exe") and session display names; matches
// that descend from another match collapse into it, because process loopback captures a
// whole tree (a browser's audio comes from a child of its main process).
DWORD ResolveApp(const AppSelector& selector, const std::vector<SessionInfo>& sessions,
                 const ProcessTable& processes) {
  if (selector.pid > 0) {
    const DWORD pid = static_cast<DWORD>(selector.pid);
    if (!processes.Contains(pid)) {
      throw EngineError("ENOAPP", "no running process has PID " + std::to_string(pid));
    }
    return pid;
  }
  const std::string wanted = win::Lower(selector.name);
  std::set<DWORD> matches;
  for (const SessionInfo& session : sessions) {
    if (NameMatches(wanted, session.display_name) && processes.Contains(session.pid)) {
      matches.insert(session.pid);
    }
  }
  for (const auto& [pid, entry] : processes.entries()) {
    if (NameMatches(wanted, entry.executable)) matches.insert(pid);
  }
  if (matches.empty()) {
    throw EngineError("ENOAPP", "no running app is named \"" + selector.name +
                                    "\" (names are executables such as \"firefox.exe\" or "
                                    "audio session names; listApps() shows the apps with audio)");
  }
  std::vector<DWORD> roots;
  for (DWORD pid : matches) {
    const ProcessTable::Entry* entry = processes.Find(pid);
    bool nested = false;
    for (DWORD other : matches) {
      if (other != pid && entry && processes.IsInTree(entry->parent, other)) nested = true;
    }
    if (!nested) roots.push_back(pid);
  }
  // Reused PIDs can make two matches each other's ancestor; then any one of them will do.
  if (roots.empty()) roots.push_back(*matches.begin());
  if (roots.size() > 1) {
    // Prefer the only tree that has audio sessions.
    std::vector<DWORD> with_audio;
    for (DWORD root : roots) {
      for (const SessionInfo& session : sessions) {
        if (processes.IsInTree(session.pid, root)) {
          with_audio.push_back(root);
          break;
        }
      }
    }
    if (with_audio.size() == 1) return with_audio.front();
    std::string list;
    for (DWORD root : roots) {
      const ProcessTable::Entry* entry = processes.Find(root);
      if (!list.empty()) list += ", ";
      list += std::to_string(root) + " (" + (entry ? entry->executable : "?") + ")";
    }
    throw EngineError("EAMBIGUOUS", "\"" + selector.name + "\" matches " +
                                        std::to_string(roots.size()) + " separate processes: " +
                                        list + "; choose one by PID");
  }
  return roots.front();
}

// ---- Activation ----

// Receives ActivateAudioInterfaceAsync's result, on a system worker thread. Microsoft requires
// the handler to be agile, "aggregating a free-threaded marshaler": it does (IMarshal is
// answered by the FTM) and also says so with the IAgileObject marker.
class ActivationHandler final : public IActivateAudioInterfaceCompletionHandler,
                                public IAgileObject {
 public:
  ActivationHandler() : done_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {
    // The FTM keeps a plain pointer to its outer object; without it COM marshals the handler
    // instead, which only matters for callers in a single-threaded apartment.
    if (FAILED(CoCreateFreeThreadedMarshaler(
            static_cast<IActivateAudioInterfaceCompletionHandler*>(this), marshaler_.Put()))) {
      marshaler_.Reset();
    }
  }

  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID riid, void** object) override {
    if (!object) return E_POINTER;
    if (riid == __uuidof(IUnknown) || riid == __uuidof(IActivateAudioInterfaceCompletionHandler)) {
      *object = static_cast<IActivateAudioInterfaceCompletionHandler*>(this);
    } else if (riid == __uuidof(IAgileObject)) {
      *object = static_cast<IAgileObject*>(this);
    } else if (riid == __uuidof(IMarshal) && marshaler_) {
      return marshaler_->QueryInterface(riid, object);
    } else {
      *object = nullptr;
      return E_NOINTERFACE;
    }
    AddRef();
    return S_OK;
  }
  ULONG STDMETHODCALLTYPE AddRef() override { return ++refs_; }
  ULONG STDMETHODCALLTYPE Release() override {
    const ULONG left = --refs_;
    if (left == 0) delete this;
    return left;
  }

  HRESULT STDMETHODCALLTYPE ActivateCompleted(IActivateAudioInterfaceAsyncOperation* op) override {
    HRESULT activate_hr = E_FAIL;
    ComPtr<IUnknown> unknown;
    HRESULT hr = op->GetActivateResult(&activate_hr, unknown.Put());
    if (SUCCEEDED(hr)) hr = activate_hr;
    if (SUCCEEDED(hr) && unknown) {
      hr = unknown->QueryInterface(__uuidof(IAudioClient), client_.PutVoid());
    } else if (SUCCEEDED(hr)) {
      hr = E_NOINTERFACE;
    }
    result_ = hr;
    SetEvent(done_.Get());
    return S_OK;
  }

  HANDLE done() const { return done_.Get(); }
  HRESULT result() const { return result_; }
  ComPtr<IAudioClient> client() const { return client_; }

 private:
  ~ActivationHandler() = default;
  std::atomic<ULONG> refs_{1};
  ComPtr<IUnknown> marshaler_;
  Handle done_;
  HRESULT result_ = E_FAIL;
  ComPtr<IAudioClient> client_;
};

ComPtr<IAudioClient> ActivateProcessLoopback(DWORD pid, PROCESS_LOOPBACK_MODE mode) {
  AUDIOCLIENT_ACTIVATION_PARAMS params{};
  params.ActivationType = AUDIOCLIENT_ACTIVATION_TYPE_PROCESS_LOOPBACK;
  params.ProcessLoopbackParams.TargetProcessId = pid;
  params.ProcessLoopbackParams.ProcessLoopbackMode = mode;
  PROPVARIANT activation;
  PropVariantInit(&activation);
  activation.vt = VT_BLOB;
  activation.blob.cbSize = sizeof(params);
  activation.blob.pBlobData = reinterpret_cast<BYTE*>(&params);

  ActivationHandler* handler = new ActivationHandler();
  ComPtr<IActivateAudioInterfaceAsyncOperation> operation;
  HRESULT hr = ActivateAudioInterfaceAsync(VIRTUAL_AUDIO_DEVICE_PROCESS_LOOPBACK,
                                           __uuidof(IAudioClient), &activation, handler,
                                           operation.Put());
  if (SUCCEEDED(hr)) {
    if (WaitForSingleObject(handler->done(), kActivationTimeoutMs) != WAIT_OBJECT_0) {
      handler->Release();
      throw EngineError("EOS", "ActivateAudioInterfaceAsync(process loopback) did not complete "
                               "within " + std::to_string(kActivationTimeoutMs / 1000) + " s");
    }
    hr = handler->result();
  }
  ComPtr<IAudioClient> client = SUCCEEDED(hr) ? handler->client() : ComPtr<IAudioClient>();
  handler->Release();
  if (FAILED(hr)) {
    if (hr == E_ACCESSDENIED || hr == E_NOTIMPL || hr == E_INVALIDARG ||
        hr == HRESULT_FROM_WIN32(ERROR_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)) {
      // What older builds and systems without a real audio service answer.
      throw EngineError("EUNSUPPORTED",
                        "process loopback activation was refused (" + win::DescribeHresult(hr) +
                            "); " + ProcessLoopbackUnsupportedMessage(win::WindowsBuild()));
    }
    win::ThrowHresult("ActivateAudioInterfaceAsync(process loopback)", hr);
  }
  return client;
}

// PKEY_Device_FriendlyName ({a45c254e-df1c-4efd-8020-67d146a850e0}, 14), spelled out here
// because the SDK's definition needs INITGUID in exactly one translation unit.
const PROPERTYKEY kDeviceFriendlyName = {
    {0xa45c254e, 0xdf1c, 0x4efd, {0x80, 0x20, 0x67, 0xd1, 0x46, 0xa8, 0x50, 0xe0}}, 14};

struct EndpointInfo {
  std::wstring id;
  std::wstring name;  // "Speakers (Realtek(R) Audio)", as the Sound settings show it
};

std::wstring EndpointId(IMMDevice* device) {
  wchar_t* id = nullptr;
  if (FAILED(device->GetId(&id)) || !id) return std::wstring();
  std::wstring out(id);
  CoTaskMemFree(id);
  return out;
}

std::wstring EndpointName(IMMDevice* device) {
  ComPtr<IPropertyStore> properties;
  if (FAILED(device->OpenPropertyStore(STGM_READ, properties.Put()))) return std::wstring();
  PROPVARIANT value;
  PropVariantInit(&value);
  std::wstring name;
  if (SUCCEEDED(properties->GetValue(kDeviceFriendlyName, &value)) && value.vt == VT_LPWSTR &&
      value.pwszVal) {
    name = value.pwszVal;
  }
  PropVariantClear(&value);
  return name;
}

bool SameTextIgnoringCase(const std::wstring& a, const std::wstring& b) {
  return CompareStringOrdinal(a.c_str(), static_cast<int>(a.size()), b.c_str(),
                              static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

std::string DescribeEndpoints(const std::vector<EndpointInfo>& endpoints) {
  if (endpoints.empty()) return "there is no active output device";
  std::string list;
  for (const EndpointInfo& endpoint : endpoints) {
    if (!list.empty()) list += ", ";
    list += "\"" + win::ToUtf8(endpoint.name) + "\" (ID " + win::ToUtf8(endpoint.id) + ")";
  }
  return "the active output devices are " + list +
         " (names as in Settings > System > Sound > Output)";
}

// The render endpoint to open: the default one for "", else the endpoint whose ID is
// `device`, else the active one whose friendly name equals `device` ignoring case. Throws
// ENOAPP naming the active endpoints when none matches, EAMBIGUOUS when several share the name.
ComPtr<IMMDevice> OpenRenderEndpoint(const std::string& device) {
  ComPtr<IMMDeviceEnumerator> enumerator = CreateDeviceEnumerator();
  ComPtr<IMMDevice> endpoint;
  if (device.empty()) {
    const HRESULT hr = enumerator->GetDefaultAudioEndpoint(eRender, eConsole, endpoint.Put());
    if (hr == HRESULT_FROM_WIN32(ERROR_NOT_FOUND)) {
      throw EngineError("ENOAPP", "there is no default output device (no active render "
                                  "endpoint); connect or enable one in Settings > System > Sound");
    }
    Check("IMMDeviceEnumerator::GetDefaultAudioEndpoint", hr);
    return endpoint;
  }
  const std::wstring wanted = win::ToWide(device);
  if (SUCCEEDED(enumerator->GetDevice(wanted.c_str(), endpoint.Put()))) {
    // GetDevice also finds recording endpoints and unplugged or disabled ones.
    ComPtr<IMMEndpoint> flow_query;
    EDataFlow flow = eRender;
    DWORD state = 0;
    if (SUCCEEDED(endpoint->QueryInterface(__uuidof(IMMEndpoint), flow_query.PutVoid())) &&
        SUCCEEDED(flow_query->GetDataFlow(&flow)) && flow != eRender) {
      throw EngineError("ENOAPP", "the endpoint \"" + device + "\" is a recording device, not "
                                  "an output device");
    }
    if (SUCCEEDED(endpoint->GetState(&state)) && state != DEVICE_STATE_ACTIVE) {
      throw EngineError("ENOAPP", "the output device \"" + device + "\" (" +
                                      win::ToUtf8(EndpointName(endpoint.Get())) +
                                      ") is not active: it is unplugged or disabled");
    }
    return endpoint;
  }
  ComPtr<IMMDeviceCollection> collection;
  Check("IMMDeviceEnumerator::EnumAudioEndpoints",
        enumerator->EnumAudioEndpoints(eRender, DEVICE_STATE_ACTIVE, collection.Put()));
  UINT count = 0;
  Check("IMMDeviceCollection::GetCount", collection->GetCount(&count));
  std::vector<EndpointInfo> endpoints;
  std::vector<ComPtr<IMMDevice>> matches;
  for (UINT i = 0; i < count; ++i) {
    ComPtr<IMMDevice> item;
    if (FAILED(collection->Item(i, item.Put()))) continue;
    EndpointInfo info{EndpointId(item.Get()), EndpointName(item.Get())};
    if (!info.name.empty() && SameTextIgnoringCase(info.name, wanted)) matches.push_back(item);
    endpoints.push_back(std::move(info));
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    throw EngineError("EAMBIGUOUS", "several output devices are named \"" + device +
                                        "\"; choose one by its endpoint ID: " +
                                        DescribeEndpoints(endpoints));
  }
  throw EngineError("ENOAPP", "no output device has the endpoint ID or name \"" + device +
                                  "\"; " + DescribeEndpoints(endpoints));
}

// The stream format asked of an audio client; AUTOCONVERTPCM makes the engine convert it to
// and from the mix format.
WAVEFORMATEX WaveFormatFor(const Format& format) {
  WAVEFORMATEX wave{};
  const bool is_float = format.encoding == SampleEncoding::kF32LE;
  wave.wFormatTag = is_float ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  wave.nChannels = static_cast<WORD>(format.channels);
  wave.nSamplesPerSec = format.sample_rate;
  wave.wBitsPerSample = static_cast<WORD>(8 * BytesPerSample(format.encoding));
  wave.nBlockAlign = static_cast<WORD>(format.BytesPerFrame());
  wave.nAvgBytesPerSec = wave.nSamplesPerSec * wave.nBlockAlign;
  wave.cbSize = 0;
  return wave;
}

std::string DescribeFormat(const Format& format) {
  return std::to_string(format.sample_rate) + " Hz, " + std::to_string(format.channels) +
         " channel(s), " + EncodingName(format.encoding);
}

// ---- Capture ----

struct ClientSpec {
  enum class Kind { kProcessInclude, kProcessExclude, kEndpoint } kind = Kind::kEndpoint;
  DWORD pid = 0;
  std::string device;  // kEndpoint: endpoint ID, "" = default render endpoint
  std::string label;   // for messages: "firefox.exe (PID 1234)", "the system mix"
};

// One audio client and the thread that reads it into one CaptureCore source.
class LoopbackClient {
 public:
  LoopbackClient(ClientSpec spec, const Format& format, CaptureCore* core, int source, HANDLE wake)
      : spec_(std::move(spec)), format_(format), core_(core), source_(source), wake_(wake),
        stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
        ready_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
  ~LoopbackClient() { StopAndJoin(); }
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  // Opens the client on its own thread and returns once it runs. Throws EngineError.
  void Start() {
    if (!stop_ || !ready_) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
    thread_ = std::thread([this] { Run(); });
    WaitForSingleObject(ready_.Get(), INFINITE);
    if (failed_.load(std::memory_order_acquire)) {
      thread_.join();
      throw EngineError(error_code_, error_message_);
    }
  }

  void StopAndJoin() {
    if (stop_) SetEvent(stop_.Get());
    if (thread_.joinable()) thread_.join();
  }

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  const std::string& error_code() const { return error_code_; }
  const std::string& error_message() const { return error_message_; }
  uint64_t discontinuities() const { return discontinuities_.load(std::memory_order_relaxed); }
  const ClientSpec& spec() const { return spec_; }
  int source() const { return source_; }

 private:
  void Fail(std::string code, std::string message) {
    error_code_ = std::move(code);
    error_message_ = std::move(message);
    failed_.store(true, std::memory_order_release);
  }

  ComPtr<IAudioClient> Open() {
    ComPtr<IAudioClient> client;
    if (spec_.kind == ClientSpec::Kind::kEndpoint) {
      ComPtr<IMMDevice> device = OpenRenderEndpoint(spec_.device);
      Check("IMMDevice::Activate(IAudioClient)",
            device->Activate(__uuidof(IAudioClient), CLSCTX_ALL, nullptr, client.PutVoid()));
    } else {
      client = ActivateProcessLoopback(
          spec_.pid, spec_.kind == ClientSpec::Kind::kProcessInclude
                         ? PROCESS_LOOPBACK_MODE_INCLUDE_TARGET_PROCESS_TREE
                         : PROCESS_LOOPBACK_MODE_EXCLUDE_TARGET_PROCESS_TREE);
    }
    // Process-loopback clients have no mix format (GetMixFormat fails), so the capture asks
    // for its own format and lets the audio engine convert and resample.
    WAVEFORMATEX wave = WaveFormatFor(format_);
    const DWORD flags = AUDCLNT_STREAMFLAGS_LOOPBACK | AUDCLNT_STREAMFLAGS_EVENTCALLBACK |
                        AUDCLNT_STREAMFLAGS_AUTOCONVERTPCM |
                        AUDCLNT_STREAMFLAGS_SRC_DEFAULT_QUALITY;
    const HRESULT hr =
        client->Initialize(AUDCLNT_SHAREMODE_SHARED, flags, kBufferDuration, 0, &wave, nullptr);
    if (hr == AUDCLNT_E_UNSUPPORTED_FORMAT || hr == E_INVALIDARG) {
      throw EngineError("EFORMAT", "the audio engine cannot deliver " + DescribeFormat(format_) +
                                       " (" + win::DescribeHresult(hr) + ")");
    }
    Check("IAudioClient::Initialize", hr);
    return client;
  }

  void Run() {
    try {
      ComApartment apartment;
      ComPtr<IAudioClient> client;
      ComPtr<IAudioCaptureClient> capture;
      Handle buffer_event(CreateEventW(nullptr, FALSE, FALSE, nullptr));
      try {
        if (!buffer_event) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
        client = Open();
        Check("IAudioClient::SetEventHandle", client->SetEventHandle(buffer_event.Get()));
        Check("IAudioClient::GetService(IAudioCaptureClient)",
              client->GetService(__uuidof(IAudioCaptureClient), capture.PutVoid()));
        Check("IAudioClient::Start", client->Start());
      } catch (const EngineError& error) {
        Fail(error.code, error.what());
        SetEvent(ready_.Get());
        return;
      } catch (const std::exception& error) {
        Fail("EOS", std::string("opening the capture of ") + spec_.label + " failed: " +
                        error.what());
        SetEvent(ready_.Get());
        return;
      }
      DWORD task_index = 0;
      HANDLE mmcss = AvSetMmThreadCharacteristicsW(L"Pro Audio", &task_index);
      SetEvent(ready_.Get());

      const HRESULT hr = Pump(capture.Get(), buffer_event.Get());

      client->Stop();
      if (mmcss) AvRevertMmThreadCharacteristics(mmcss);
      if (FAILED(hr)) {
        if (hr == AUDCLNT_E_DEVICE_INVALIDATED) {
          Fail("EOS", "the output device of " + spec_.label +
                          " was removed or reconfigured (AUDCLNT_E_DEVICE_INVALIDATED); "
                          "start the capture again");
        } else if (hr == AUDCLNT_E_SERVICE_NOT_RUNNING) {
          Fail("ENOSERVER", "the Windows Audio service stopped while capturing " + spec_.label);
        } else {
          Fail(win::ErrorCodeFor(hr),
               "capturing " + spec_.label + " failed: " + win::DescribeHresult(hr));
        }
        SetEvent(wake_);
      }
    } catch (const EngineError& error) {  // the apartment could not be joined
      Fail(error.code, error.what());
      SetEvent(ready_.Get());
    } catch (...) {  // an exception must not leave the thread (std::terminate)
      if (!failed()) Fail("EOS", "the capture thread of " + spec_.label + " failed");
      SetEvent(ready_.Get());
      SetEvent(wake_);
    }
  }

  // The real-time loop: wait for the client's event, copy every packet into the source.
  HRESULT Pump(IAudioCaptureClient* capture, HANDLE buffer_event) {
    HANDLE waits[2] = {stop_.Get(), buffer_event};
    bool first_packet = true;
    bool paused = true;  // until the first packet: a silent target does not hold the mix back
    core_->SetSourcePaused(source_, true);
    ULONGLONG last_packet_ms = GetTickCount64();
    for (;;) {
      // The timeout also drains when an event was missed; the stop event has priority.
      const DWORD woke = WaitForMultipleObjects(2, waits, FALSE, kCapturePollMs);
      if (woke == WAIT_OBJECT_0) return S_OK;
      if (woke == WAIT_FAILED) return HRESULT_FROM_WIN32(GetLastError());
      const ULONGLONG now_ms = GetTickCount64();
      if (!paused && now_ms - last_packet_ms > kIdleAfterMs) {
        paused = true;
        core_->SetSourcePaused(source_, true);
      }
      for (;;) {
        UINT32 packet_frames = 0;
        HRESULT hr = capture->GetNextPacketSize(&packet_frames);
        if (FAILED(hr)) return hr;
        if (packet_frames == 0) break;
        BYTE* data = nullptr;
        UINT32 frames = 0;
        DWORD flags = 0;
        hr = capture->GetBuffer(&data, &frames, &flags, nullptr, nullptr);
        if (hr == AUDCLNT_S_BUFFER_EMPTY) break;
        if (FAILED(hr)) return hr;
        last_packet_ms = now_ms;
        if (paused) {
          paused = false;
          core_->SetSourcePaused(source_, false);
        }
        // The first packet after Start() routinely carries the discontinuity flag.
        if ((flags & AUDCLNT_BUFFERFLAGS_DATA_DISCONTINUITY) && !first_packet) {
          discontinuities_.fetch_add(1, std::memory_order_relaxed);
        }
        first_packet = false;
        if (frames > 0) {
          if (flags & AUDCLNT_BUFFERFLAGS_SILENT) {
            core_->WriteSilence(source_, frames);
          } else {
            core_->Write(source_, data, frames);
          }
        }
        hr = capture->ReleaseBuffer(frames);
        if (FAILED(hr)) return hr;
      }
    }
  }

  const ClientSpec spec_;
  const Format format_;
  CaptureCore* const core_;
  const int source_;
  const HANDLE wake_;
  Handle stop_;
  Handle ready_;
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> discontinuities_{0};
  // Written by the capture thread before failed_ is set (release), read after (acquire).
  std::string error_code_;
  std::string error_message_;
};

std::string Label(DWORD pid, const ProcessTable& processes) {
  const ProcessTable::Entry* entry = processes.Find(pid);
  const std::string exe = entry ? entry->executable : std::string("process");
  return exe + " (PID " + std::to_string(pid) + ")";
}

class WasapiCaptureSession final : public CaptureSession {
 public:
  WasapiCaptureSession(const CaptureOptions& options, CaptureCore* core)
      : format_(options.format), core_(core),
        stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
        wake_(CreateEventW(nullptr, FALSE, FALSE, nullptr)) {
    if (!stop_ || !wake_) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
  }
  ~WasapiCaptureSession() override { Stop(); }

  // Adds a client and its source; throws EngineError (and releases the source) on failure.
  void AddClient(ClientSpec spec) {
    const int source = core_->AcquireSource();
    if (source < 0) {
      throw EngineError("EUNSUPPORTED", "a capture mixes at most " +
                                            std::to_string(CaptureCore::kMaxSources) +
                                            " processes");
    }
    auto client = std::make_unique<LoopbackClient>(std::move(spec), format_, core_, source,
                                                   wake_.Get());
    try {
      client->Start();
    } catch (...) {
      core_->ReleaseSource(source);
      throw;
    }
    clients_.push_back(std::move(client));
  }

  // The capture ends when every one of these processes has exited.
  void WatchTarget(DWORD pid, std::string label) {
    HANDLE process = OpenProcess(SYNCHRONIZE, FALSE, pid);
    if (!process) return;  // not watchable (protected process): the capture runs until stopped
    targets_.push_back({Handle(process), std::move(label), false});
  }

  // System mix minus several apps: one include-tree client per process with audio sessions
  // outside the excluded trees, and new ones as sessions appear.
  void FollowSessions(std::vector<DWORD> excluded) {
    follow_ = true;
    excluded_ = std::move(excluded);
    PollSessions();
    last_poll_ms_ = NowMs();
  }

  void Run() {
    control_ = std::thread([this] { ControlLoop(); });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    SetEvent(stop_.Get());
    if (control_.joinable()) control_.join();
    StopClients();
  }

 private:
  struct Target {
    Handle process;
    std::string label;
    bool exited;
  };

  void StopClients() {
    for (auto& client : clients_) {
      client->StopAndJoin();
      core_->ReleaseSource(client->source());
    }
    clients_.clear();
  }

  void PollSessions() {
    std::vector<SessionInfo> sessions = EnumerateSessions();
    ProcessTable processes = ProcessTable::Snapshot();
    // Clients of processes that exited free their source for processes that come later.
    for (auto it = clients_.begin(); it != clients_.end();) {
      const DWORD pid = (*it)->spec().pid;
      if ((*it)->spec().kind == ClientSpec::Kind::kProcessInclude && !processes.Contains(pid)) {
        (*it)->StopAndJoin();
        core_->ReleaseSource((*it)->source());
        captured_.erase(pid);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    std::set<DWORD> candidates;
    for (const SessionInfo& session : sessions) candidates.insert(session.pid);
    for (DWORD pid : candidates) {
      if (!processes.Contains(pid) || captured_.count(pid)) continue;
      bool skip = false;
      for (DWORD excluded : excluded_) skip = skip || processes.IsInTree(pid, excluded);
      // An include-tree client of an ancestor already carries this process's audio.
      for (DWORD captured : captured_) skip = skip || processes.IsInTree(pid, captured);
      if (skip) continue;
      // Conversely, clients of this process's descendants would now be heard twice.
      for (auto it = clients_.begin(); it != clients_.end();) {
        const DWORD other = (*it)->spec().pid;
        if (other != pid && processes.IsInTree(other, pid)) {
          (*it)->StopAndJoin();
          core_->ReleaseSource((*it)->source());
          captured_.erase(other);
          it = clients_.erase(it);
        } else {
          ++it;
        }
      }
      captured_.insert(pid);
      try {
        AddClient({ClientSpec::Kind::kProcessInclude, pid, "", Label(pid, processes)});
      } catch (const EngineError& error) {
        core_->sink()->OnWarning("not capturing " + Label(pid, processes) + ": " + error.what());
      }
    }
  }

  void ControlLoop() {
    WatchLoop();
    // Whatever ended the capture, the clients stop writing now, not when the host calls Stop.
    StopClients();
  }

  void WatchLoop() {
    try {
      ComApartment apartment;  // for session polling
      uint64_t reported_discontinuities = 0;
      int64_t last_warning_ms = 0;
      for (;;) {
        std::vector<HANDLE> waits = {stop_.Get(), wake_.Get()};
        for (const Target& target : targets_) {
          if (!target.exited && waits.size() < MAXIMUM_WAIT_OBJECTS) {
            waits.push_back(target.process.Get());
          }
        }
        const DWORD woke = WaitForMultipleObjects(static_cast<DWORD>(waits.size()), waits.data(),
                                                  FALSE, kControlTickMs);
        if (woke == WAIT_OBJECT_0) return;

        for (const auto& client : clients_) {
          if (client->failed()) {
            core_->End(EndReason::kError, client->error_code(), client->error_message());
            return;
          }
        }

        if (!targets_.empty()) {
          std::string exited;
          bool all_exited = true;
          for (Target& target : targets_) {
            if (!target.exited && WaitForSingleObject(target.process.Get(), 0) == WAIT_OBJECT_0) {
              target.exited = true;
            }
            if (target.exited) {
              exited += (exited.empty() ? "" : ", ") + target.label;
            } else {
              all_exited = false;
            }
          }
          if (all_exited) {
            core_->End(EndReason::kTargetExited, "", exited + " exited");
            return;
          }
        }

        uint64_t discontinuities = 0;
        for (const auto& client : clients_) discontinuities += client->discontinuities();
        const int64_t now = NowMs();
        if (discontinuities > reported_discontinuities &&
            now - last_warning_ms >= kWarningIntervalMs) {
          core_->sink()->OnWarning(
              std::to_string(discontinuities - reported_discontinuities) +
              " data discontinuity(ies) in the captured audio: the audio engine dropped frames "
              "before they were read (system overloaded)");
          reported_discontinuities = discontinuities;
          last_warning_ms = now;
        }

        if (follow_ && now - last_poll_ms_ >= kSessionPollMs) {
          last_poll_ms_ = now;
          try {
            PollSessions();
          } catch (const EngineError& error) {
            core_->sink()->OnWarning(std::string("could not look for new audio sessions: ") +
                                     error.what());
          }
        }
      }
    } catch (const std::exception& error) {
      core_->End(EndReason::kError, "EOS", error.what());
    }
  }

  const Format format_;
  CaptureCore* const core_;
  Handle stop_;
  Handle wake_;
  std::vector<std::unique_ptr<LoopbackClient>> clients_;  // control thread once Run() began
  std::vector<Target> targets_;
  bool follow_ = false;
  std::vector<DWORD> excluded_;
  std::set<DWORD> captured_;
  int64_t last_poll_ms_ = 0;
  std::thread control_;
  std::atomic<bool> stopped_{false};
};

void ValidateFormat(const Format& format) {
  if (format.sample_rate < 8000 || format.sample_rate > 192000) {
    throw EngineError("EFORMAT", "sample rate " + std::to_string(format.sample_rate) +
                                     " Hz is outside 8000..192000 Hz");
  }
  if (format.channels != 1 && format.channels != 2) {
    throw EngineError("EFORMAT", "channels must be 1 or 2, not " +
                                     std::to_string(format.channels));
  }
}

void RequireProcessLoopback(CaptureCore* core) {
  const uint32_t build = win::WindowsBuild();
  if (build != 0 && build < kFirstProcessLoopbackBuild) {
    throw EngineError("EUNSUPPORTED", ProcessLoopbackUnsupportedMessage(build));
  }
  if (build != 0 && build < kDocumentedProcessLoopbackBuild) {
    // Windows 10 2004..22H2 have process loopback, but only with recent cumulative updates;
    // an older one activates without error and delivers silence.
    core->sink()->OnWarning(
        "process loopback on Windows 10 build " + std::to_string(build) +
        " works only with recent cumulative updates (Microsoft documents build " +
        std::to_string(kDocumentedProcessLoopbackBuild) +
        "); if the recording stays silent, install the latest Windows updates");
  }
}

// ---- Playback ----

// A shared-mode render stream on one endpoint, fed from a PlaybackCore by its own render
// thread. The thread owns every COM object of the stream: it opens them, and releases them
// when it ends (Stop, or a failed call such as AUDCLNT_E_DEVICE_INVALIDATED).
class WasapiPlayback final : public PlaybackSession {
 public:
  WasapiPlayback(const PlaybackOptions& options, PlaybackCore* core)
      : options_(options), core_(core),
        stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
        ready_(CreateEventW(nullptr, TRUE, FALSE, nullptr)) {}
  ~WasapiPlayback() override { Stop(); }
  WasapiPlayback(const WasapiPlayback&) = delete;
  WasapiPlayback& operator=(const WasapiPlayback&) = delete;

  // Opens the stream on the render thread and returns once it plays. Throws EngineError;
  // the thread has then ended and released everything.
  void Start() {
    if (!stop_ || !ready_) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
    thread_ = std::thread([this] { Run(); });
    WaitForSingleObject(ready_.Get(), INFINITE);
    if (failed_) {
      thread_.join();
      throw EngineError(error_code_, error_message_);
    }
  }

  void Stop() override {
    std::lock_guard<std::mutex> guard(stop_mutex_);
    if (stop_) SetEvent(stop_.Get());
    if (thread_.joinable()) thread_.join();
  }

  // The engine's stream latency plus what waits in the endpoint buffer, from values the
  // render thread publishes; -1 once the stream has ended.
  int64_t OutputLatencyFrames() override {
    if (!running_.load(std::memory_order_acquire)) return -1;
    const int64_t stream = stream_latency_frames_.load(std::memory_order_relaxed);
    if (stream < 0) return -1;
    return stream + padding_frames_.load(std::memory_order_relaxed);
  }

 private:
  struct Stream {
    ComPtr<IAudioClient> client;
    ComPtr<IAudioRenderClient> render;
    UINT32 buffer_frames = 0;
  };

  // Render thread, before the real-time loop. Throws EngineError.
  void Open(Stream& stream, HANDLE buffer_event) {
    ComPtr<IMMDevice> endpoint = OpenRenderEndpoint(options_.device);
    Check("IMMDevice::Activate(IAudioClient)",
          endpoint->Activate(__uuidof(IAudioClient), CLSCTX_ALL, nullptr,
                             stream.client.PutVoid()));
    WAVEFORMATEX wave = WaveFormatFor(options_.format);
    const DWORD flags = AUDCLNT_STREAMFLAGS_EVENTCALLBACK | AUDCLNT_STREAMFLAGS_AUTOCONVERTPCM |
                        AUDCLNT_STREAMFLAGS_SRC_DEFAULT_QUALITY;
    const HRESULT hr = stream.client->Initialize(AUDCLNT_SHAREMODE_SHARED, flags,
                                                 kRenderBufferDuration, 0, &wave, nullptr);
    if (hr == AUDCLNT_E_UNSUPPORTED_FORMAT || hr == E_INVALIDARG) {
      throw EngineError("EFORMAT", "the audio engine cannot play " +
                                       DescribeFormat(options_.format) + " (" +
                                       win::DescribeHresult(hr) + ")");
    }
    Check("IAudioClient::Initialize", hr);
    Check("IAudioClient::SetEventHandle", stream.client->SetEventHandle(buffer_event));
    Check("IAudioClient::GetBufferSize", stream.client->GetBufferSize(&stream.buffer_frames));
    Check("IAudioClient::GetService(IAudioRenderClient)",
          stream.client->GetService(__uuidof(IAudioRenderClient), stream.render.PutVoid()));
    REFERENCE_TIME latency = 0;
    if (SUCCEEDED(stream.client->GetStreamLatency(&latency)) && latency >= 0) {
      stream_latency_frames_.store(
          latency * static_cast<int64_t>(options_.format.sample_rate) / 10000000,
          std::memory_order_relaxed);
    }
    // The whole buffer is filled before Start, as Microsoft's render samples do, so the
    // first period does not start with a glitch.
    Check("filling the endpoint buffer (GetCurrentPadding, GetBuffer, ReleaseBuffer)",
          Fill(stream));
    Check("IAudioClient::Start", stream.client->Start());
  }

  void Run() {
    try {
      ComApartment apartment;
      // Declared before the stream: the client is released before its event handle is closed.
      Handle buffer_event(CreateEventW(nullptr, FALSE, FALSE, nullptr));
      Stream stream;
      try {
        if (!buffer_event) win::ThrowHresult("CreateEvent", HRESULT_FROM_WIN32(GetLastError()));
        Open(stream, buffer_event.Get());
      } catch (const EngineError& error) {
        Fail(error.code, error.what());
        return;
      } catch (const std::exception& error) {
        Fail("EOS", std::string("opening the output stream failed: ") + error.what());
        return;
      }
      DWORD task_index = 0;
      HANDLE mmcss = AvSetMmThreadCharacteristicsW(L"Pro Audio", &task_index);
      running_.store(true, std::memory_order_release);
      SetEvent(ready_.Get());

      Pump(stream, buffer_event.Get());

      running_.store(false, std::memory_order_release);
      stream.client->Stop();
      if (mmcss) AvRevertMmThreadCharacteristics(mmcss);
    } catch (const EngineError& error) {  // the apartment could not be joined
      Fail(error.code, error.what());
    } catch (...) {  // an exception must not leave the thread (std::terminate)
      running_.store(false, std::memory_order_release);
      if (!failed_) Fail("EOS", "the render thread failed");
    }
  }

  // The real-time loop: on each buffer event, top the endpoint buffer up from the core. It
  // ends on Stop or on the first failed call (AUDCLNT_E_DEVICE_INVALIDATED when the endpoint
  // is removed or its format changes): the core then keeps buffering, and counts as overrun
  // frames what does not fit, until the host stops the playback.
  void Pump(Stream& stream, HANDLE buffer_event) {
    HANDLE waits[2] = {stop_.Get(), buffer_event};
    for (;;) {
      // The timeout also serves a missed event; the stop event has priority.
      const DWORD woke = WaitForMultipleObjects(2, waits, FALSE, kRenderPollMs);
      if (woke == WAIT_OBJECT_0 || woke == WAIT_FAILED) return;
      if (FAILED(Fill(stream))) return;
    }
  }

  HRESULT Fill(Stream& stream) {
    UINT32 padding = 0;
    HRESULT hr = stream.client->GetCurrentPadding(&padding);
    if (FAILED(hr)) return hr;
    padding_frames_.store(padding, std::memory_order_relaxed);
    if (padding >= stream.buffer_frames) return S_OK;
    const UINT32 frames = stream.buffer_frames - padding;
    BYTE* data = nullptr;
    hr = stream.render->GetBuffer(frames, &data);
    if (FAILED(hr)) return hr;
    core_->Pull(data, frames);
    return stream.render->ReleaseBuffer(frames, 0);
  }

  // Before ready_ is set: Start() reads the error after waiting for it.
  void Fail(std::string code, std::string message) {
    error_code_ = std::move(code);
    error_message_ = std::move(message);
    failed_ = true;
    SetEvent(ready_.Get());
  }

  // 20 ms: the jitter buffer is the PlaybackCore's; the endpoint buffer only has to cover the
  // engine's period (10 ms by default) twice.
  static constexpr REFERENCE_TIME kRenderBufferDuration = 200000;  // 100-ns units
  static constexpr DWORD kRenderPollMs = 100;

  const PlaybackOptions options_;
  PlaybackCore* const core_;
  Handle stop_;
  Handle ready_;
  std::thread thread_;
  std::mutex stop_mutex_;
  std::atomic<bool> running_{false};
  std::atomic<int64_t> stream_latency_frames_{-1};
  std::atomic<uint32_t> padding_frames_{0};
  // Written by the render thread before ready_ is set, read by Start() after.
  bool failed_ = false;
  std::string error_code_;
  std::string error_message_;
};

class WasapiBackend final : public Backend {
 public:
  const char* Name() const override { return "wasapi"; }

  std::vector<AppInfo> ListApps() override {
    ComApartment apartment;
    std::vector<SessionInfo> sessions = EnumerateSessions();
    std::map<DWORD, AppInfo> apps;
    std::map<DWORD, double> volume_sum;
    for (const SessionInfo& session : sessions) {
      auto [it, inserted] = apps.try_emplace(session.pid);
      AppInfo& app = it->second;
      if (inserted) {
        app.pid = static_cast<int32_t>(session.pid);
        app.executable = win::ProcessExecutable(session.pid);
        app.muted = true;
      }
      if (app.name.empty()) app.name = session.display_name;
      app.streams += 1;
      app.playing = app.playing || session.state == AudioSessionStateActive;
      app.muted = app.muted && session.muted;
      volume_sum[session.pid] += session.volume;
    }
    const ProcessTable processes = ProcessTable::Snapshot();
    std::vector<AppInfo> out;
    for (auto& [pid, app] : apps) {
      // A session whose process has exited lingers until it expires; it cannot be captured.
      if (!processes.Contains(pid)) continue;
      if (app.executable.empty()) {
        const ProcessTable::Entry* entry = processes.Find(pid);
        if (entry) app.executable = entry->executable;
      }
      app.volume = app.streams ? volume_sum[pid] / app.streams : 1.0;
      if (app.name.empty()) {
        // No session name: the executable without ".exe", as Windows' volume mixer shows it.
        app.name = app.executable;
        if (app.name.size() > 4 && win::Lower(app.name.substr(app.name.size() - 4)) == ".exe") {
          app.name.resize(app.name.size() - 4);
        }
      }
      out.push_back(std::move(app));
    }
    std::sort(out.begin(), out.end(), [](const AppInfo& a, const AppInfo& b) {
      const std::string la = win::Lower(a.name), lb = win::Lower(b.name);
      return la != lb ? la < lb : a.pid < b.pid;
    });
    return out;
  }

  std::unique_ptr<CaptureSession> StartCapture(const CaptureOptions& options,
                                               CaptureCore* core) override {
    ValidateFormat(options.format);
    const Target& target = options.target;
    if (target.kind == TargetKind::kExistingTap) {
      throw EngineError("EUNSUPPORTED", "existing process taps are a macOS feature; on Windows "
                                        "capture apps by PID or name");
    }
    if (options.EffectiveMuteMode() != MuteMode::kUnmuted) {
      // Session mute (ISimpleAudioVolume) is applied before process loopback sees the
      // audio, so muting the app would record silence. See docs/windows.md.
      throw EngineError("EUNSUPPORTED",
                        "muting the captured app is not available on Windows: session mute also "
                        "silences the process-loopback capture. Mute the output device or "
                        "lower the app's volume instead");
    }
    ComApartment apartment;
    auto session = std::make_unique<WasapiCaptureSession>(options, core);

    if (target.kind == TargetKind::kSystem && target.exclude.empty()) {
      session->AddClient({ClientSpec::Kind::kEndpoint, 0, options.device,
                          options.device.empty() ? "the system mix"
                                                 : "the mix of " + options.device});
      // The mix is always there: the timeline starts now, silent until something plays.
      core->MarkRecording();
      session->Run();
      return session;
    }

    if (!options.device.empty()) {
      throw EngineError("EUNSUPPORTED",
                        "process loopback captures an app on every output device; an output "
                        "device can only be chosen for the whole system mix");
    }
    RequireProcessLoopback(core);
    const std::vector<SessionInfo> sessions = EnumerateSessions();
    const ProcessTable processes = ProcessTable::Snapshot();

    if (target.kind == TargetKind::kApps) {
      if (target.apps.empty()) throw EngineError("ENOAPP", "no app to capture was given");
      std::vector<DWORD> roots;
      for (const AppSelector& selector : target.apps) {
        roots.push_back(ResolveApp(selector, sessions, processes));
      }
      // A tree already captured through an ancestor is not captured twice.
      std::vector<DWORD> unique;
      for (DWORD pid : roots) {
        bool nested = false;
        for (DWORD other : roots) {
          const ProcessTable::Entry* entry = processes.Find(pid);
          if (other != pid && entry && processes.IsInTree(entry->parent, other)) nested = true;
        }
        if (!nested && std::find(unique.begin(), unique.end(), pid) == unique.end()) {
          unique.push_back(pid);
        }
      }
      if (unique.empty()) unique.push_back(roots.front());  // see ResolveApp on reused PIDs
      for (DWORD pid : unique) {
        session->AddClient({ClientSpec::Kind::kProcessInclude, pid, "", Label(pid, processes)});
        session->WatchTarget(pid, Label(pid, processes));
      }
      session->Run();
      return session;
    }

    // kSystem minus apps.
    std::vector<DWORD> excluded;
    for (const AppSelector& selector : target.exclude) {
      excluded.push_back(ResolveApp(selector, sessions, processes));
    }
    std::sort(excluded.begin(), excluded.end());
    excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
    if (excluded.size() == 1) {
      session->AddClient({ClientSpec::Kind::kProcessExclude, excluded.front(), "",
                          "the system mix without " + Label(excluded.front(), processes)});
    } else {
      session->FollowSessions(std::move(excluded));
    }
    core->MarkRecording();
    session->Run();
    return session;
  }

  std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options,
                                                 PlaybackCore* core) override {
    ValidateFormat(options.format);
    auto playback = std::make_unique<WasapiPlayback>(options, core);
    playback->Start();
    return playback;
  }

  void SetAppVolume(const AppSelector& app, std::optional<double> volume,
                    std::optional<bool> mute) override {
    if (volume && !(*volume >= 0.0 && *volume <= 1.0)) {
      throw EngineError("EFORMAT", "volume must be between 0 and 1 (linear), not " +
                                       std::to_string(*volume));
    }
    ComApartment apartment;
    std::vector<SessionInfo> sessions = EnumerateSessions();
    const ProcessTable processes = ProcessTable::Snapshot();
    const DWORD root = ResolveApp(app, sessions, processes);
    int changed = 0;
    for (SessionInfo& session : sessions) {
      if (!session.simple_volume || !processes.IsInTree(session.pid, root)) continue;
      if (volume) {
        Check("ISimpleAudioVolume::SetMasterVolume",
              session.simple_volume->SetMasterVolume(static_cast<float>(*volume), nullptr));
      }
      if (mute) {
        Check("ISimpleAudioVolume::SetMute",
              session.simple_volume->SetMute(*mute ? TRUE : FALSE, nullptr));
      }
      ++changed;
    }
    if (changed == 0) {
      throw EngineError("ENOAPP", Label(root, processes) +
                                      " has no audio session (it has not played audio yet)");
    }
  }
};

}  // namespace

std::unique_ptr<Backend> CreateBackend() { return std::make_unique<WasapiBackend>(); }

}  // namespace audiotap

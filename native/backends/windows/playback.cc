#include "backends/windows/playback.h"

#include <windows.h>

#include <audioclient.h>
#include <avrt.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "backends/windows/endpoints.h"
#include "backends/windows/win32.h"

namespace audiotap {
namespace win {

namespace {

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

}  // namespace

std::unique_ptr<PlaybackSession> StartPlayback(const PlaybackOptions& options, PlaybackCore* core) {
  ValidateFormat(options.format);
  auto playback = std::make_unique<WasapiPlayback>(options, core);
  playback->Start();
  return playback;
}

}  // namespace win
}  // namespace audiotap

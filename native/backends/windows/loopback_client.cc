#include "backends/windows/loopback_client.h"

#include <avrt.h>

#include <algorithm>
#include <chrono>

#include "backends/windows/activation.h"
#include "backends/windows/endpoints.h"

namespace audiotap {
namespace win {

namespace {

constexpr REFERENCE_TIME kBufferDuration = 2000000;  // 200 ms in 100-ns units
// Capture threads also drain on this timeout: event-driven loopback on an endpoint only
// signals from Windows 10 1703, so earlier builds are served by polling well within the buffer.
constexpr DWORD kCapturePollMs = 50;
// Loopback clients deliver no packets while nothing in their scope renders (an app between
// sounds, an idle system mix). After this long without a packet the source counts as paused,
// so the core fills the timeline with silence instead of waiting for it.
constexpr ULONGLONG kIdleAfterMs = 200;

// A packet's capture time (GetBuffer's QPC position, 100-ns units) on the steady clock the core
// stamps are on (CaptureCore::Write): the packet's age by the performance counter, taken from
// the steady clock's now, so the two clocks need not share an origin. `qpc_frequency`: the
// counter's ticks per second (QueryPerformanceFrequency, fixed at boot: read once per thread).
// Real-time safe.
int64_t SteadyNsOfQpc(UINT64 qpc_position, double qpc_frequency) {
  LARGE_INTEGER counter;
  QueryPerformanceCounter(&counter);
  const int64_t now_100ns =
      static_cast<int64_t>(static_cast<double>(counter.QuadPart) * 1e7 / qpc_frequency);
  const int64_t age_ns = (now_100ns - static_cast<int64_t>(qpc_position)) * 100;
  const int64_t steady_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::steady_clock::now().time_since_epoch())
                                .count();
  return steady_ns - std::max<int64_t>(age_ns, 0);
}

}  // namespace

ComPtr<IAudioClient> LoopbackClient::Open() {
  ComPtr<IAudioClient> client;
  const bool input = spec_.kind == ClientSpec::Kind::kInput;
  if (spec_.kind == ClientSpec::Kind::kEndpoint || input) {
    ComPtr<IMMDevice> device = OpenEndpoint(input ? eCapture : eRender, spec_.device);
    Check("IMMDevice::Activate(IAudioClient)",
          device->Activate(__uuidof(IAudioClient), CLSCTX_ALL, nullptr, client.PutVoid()));
  } else {
    client = ActivateProcessLoopback(spec_.pid, spec_.kind == ClientSpec::Kind::kProcessInclude);
  }
  // Process-loopback clients have no mix format (GetMixFormat fails), so the capture asks
  // for its own format and lets the audio engine convert and resample.
  WAVEFORMATEX wave = WaveFormatFor(format_);
  // An input endpoint is read as it is; everything else is the loopback of what renders.
  const DWORD flags = (input ? 0 : AUDCLNT_STREAMFLAGS_LOOPBACK) |
                      AUDCLNT_STREAMFLAGS_EVENTCALLBACK | AUDCLNT_STREAMFLAGS_AUTOCONVERTPCM |
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

void LoopbackClient::Run() {
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
      UINT32 buffer_frames = 0;
      Check("IAudioClient::GetBufferSize", client->GetBufferSize(&buffer_frames));
      silence_.assign(static_cast<size_t>(buffer_frames) * format_.BytesPerFrame(), 0);
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

HRESULT LoopbackClient::Pump(IAudioCaptureClient* capture, HANDLE buffer_event) {
  HANDLE waits[2] = {stop_.Get(), buffer_event};
  bool first_packet = true;
  bool paused = true;  // until the first packet: a silent target does not hold the mix back
  core_->SetSourcePaused(source_, true);
  ULONGLONG last_packet_ms = GetTickCount64();
  LARGE_INTEGER frequency;
  QueryPerformanceFrequency(&frequency);
  const double qpc_frequency = static_cast<double>(frequency.QuadPart);
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
      UINT64 qpc_position = 0;  // when the first frame was captured, in 100-ns QPC units
      hr = capture->GetBuffer(&data, &frames, &flags, nullptr, &qpc_position);
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
        const int64_t captured_ns =
            (flags & AUDCLNT_BUFFERFLAGS_TIMESTAMP_ERROR)
                ? 0
                : SteadyNsOfQpc(qpc_position, qpc_frequency);
        if (!(flags & AUDCLNT_BUFFERFLAGS_SILENT)) {
          core_->Write(source_, data, frames, captured_ns);
        } else if (captured_ns != 0 && frames * format_.BytesPerFrame() <= silence_.size()) {
          // Stamped like any packet: a track whose first packet is silent is placed by it.
          core_->Write(source_, silence_.data(), frames, captured_ns);
        } else {
          core_->WriteSilence(source_, frames);
        }
      }
      hr = capture->ReleaseBuffer(frames);
      if (FAILED(hr)) return hr;
    }
  }
}

}  // namespace win
}  // namespace audiotap

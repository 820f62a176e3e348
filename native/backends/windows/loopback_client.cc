#include "backends/windows/loopback_client.h"

#include <avrt.h>

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

}  // namespace

ComPtr<IAudioClient> LoopbackClient::Open() {
  ComPtr<IAudioClient> client;
  if (spec_.kind == ClientSpec::Kind::kEndpoint) {
    ComPtr<IMMDevice> device = OpenRenderEndpoint(spec_.device);
    Check("IMMDevice::Activate(IAudioClient)",
          device->Activate(__uuidof(IAudioClient), CLSCTX_ALL, nullptr, client.PutVoid()));
  } else {
    client = ActivateProcessLoopback(spec_.pid, spec_.kind == ClientSpec::Kind::kProcessInclude);
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

}  // namespace win
}  // namespace audiotap

#include "backends/windows/activation.h"

#include <mmdeviceapi.h>

#if defined(__has_include)
#if __has_include(<audioclientactivationparams.h>)
#include <audioclientactivationparams.h>
#define AUDIOTAP_HAVE_ACTIVATION_PARAMS 1
#endif
#endif

#include <atomic>

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
namespace win {

namespace {

constexpr DWORD kActivationTimeoutMs = 5000;

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

}  // namespace

std::string ProcessLoopbackUnsupportedMessage(uint32_t build) {
  return "capturing apps, or the system mix minus apps, uses process loopback, which requires "
         "Windows 10 version 2004 (build " +
         std::to_string(kFirstProcessLoopbackBuild) + ") or later; Microsoft documents build " +
         std::to_string(kDocumentedProcessLoopbackBuild) +
         " as the minimum (Windows Server 2022; on desktops, Windows 11). This is build " +
         (build ? std::to_string(build) : std::string("(unknown)")) +
         ". The whole system mix (target \"system\" with no exclusions) works on any Windows 10.";
}

ComPtr<IAudioClient> ActivateProcessLoopback(DWORD pid, bool include_tree) {
  AUDIOCLIENT_ACTIVATION_PARAMS params{};
  params.ActivationType = AUDIOCLIENT_ACTIVATION_TYPE_PROCESS_LOOPBACK;
  params.ProcessLoopbackParams.TargetProcessId = pid;
  params.ProcessLoopbackParams.ProcessLoopbackMode =
      include_tree ? PROCESS_LOOPBACK_MODE_INCLUDE_TARGET_PROCESS_TREE
                   : PROCESS_LOOPBACK_MODE_EXCLUDE_TARGET_PROCESS_TREE;
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

}  // namespace win
}  // namespace audiotap

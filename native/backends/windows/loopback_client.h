// One capture audio client (process loopback, an endpoint's loopback for the whole mix, or an
// input endpoint such as a microphone) and the capture thread that reads it into one
// CaptureCore source, each packet stamped with when it was captured.
#pragma once

#include <windows.h>

#include <audioclient.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "backends/windows/win32.h"
#include "core/capture_core.h"
#include "core/engine.h"

namespace audiotap {
namespace win {

struct ClientSpec {
  // kEndpoint: an output device's mix (render loopback); kInput: an input device (capture
  // endpoint, recorded as it is, no loopback).
  enum class Kind { kProcessInclude, kProcessExclude, kEndpoint, kInput } kind = Kind::kEndpoint;
  DWORD pid = 0;
  std::string device;  // kEndpoint, kInput: endpoint ID or name, "" = the default one
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


  // Capture thread: opens the client. Throws EngineError.
  ComPtr<IAudioClient> Open();
  // Capture thread: opens, then pumps until stopped or failed.
  void Run();
  // The real-time loop: wait for the client's event, copy every packet into the source.
  HRESULT Pump(IAudioCaptureClient* capture, HANDLE buffer_event);

  const ClientSpec spec_;
  const Format format_;
  CaptureCore* const core_;
  const int source_;
  const HANDLE wake_;
  std::vector<uint8_t> silence_;  // zeros for a silent packet that has a timestamp (Run sizes it)
  Handle stop_;
  Handle ready_;
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> discontinuities_{0};
  // Written by the capture thread before failed_ is set (release), read after (acquire).
  std::string error_code_;
  std::string error_message_;
};

}  // namespace win
}  // namespace audiotap

// Small COM / Win32 helpers of the WASAPI backend: an owning COM pointer, RAII for COM
// apartments and handles, UTF-16 <-> UTF-8, HRESULT -> EngineError, the Windows build number.
// Everything here runs on control threads, never on a capture thread's hot loop.
#pragma once

#include <windows.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/engine.h"

namespace audiotap {
namespace win {

// Owns one reference to a COM interface.
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ~ComPtr() { Reset(); }
  ComPtr(const ComPtr& other) : ptr_(other.ptr_) {
    if (ptr_) ptr_->AddRef();
  }
  ComPtr(ComPtr&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  ComPtr& operator=(ComPtr other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }

  T* Get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }
  // Releases the current pointer and returns the address for an out-parameter.
  T** Put() {
    Reset();
    return &ptr_;
  }
  void** PutVoid() { return reinterpret_cast<void**>(Put()); }
  void Reset() {
    if (ptr_) std::exchange(ptr_, nullptr)->Release();
  }
  // Takes over a reference the caller already owns.
  void Attach(T* ptr) {
    Reset();
    ptr_ = ptr;
  }

 private:
  T* ptr_ = nullptr;
};

// Joins the calling thread to the multithreaded apartment for the object's lifetime. Audio
// objects created in the MTA may be used from any MTA thread without marshaling.
class ComApartment {
 public:
  ComApartment();
  ~ComApartment();
  ComApartment(const ComApartment&) = delete;
  ComApartment& operator=(const ComApartment&) = delete;

 private:
  bool uninitialize_ = false;
};

// Owns a kernel handle (event, process, thread).
class Handle {
 public:
  Handle() = default;
  explicit Handle(HANDLE handle) : handle_(handle) {}
  ~Handle() { Reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  HANDLE Get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  void Reset() {
    if (handle_) CloseHandle(std::exchange(handle_, nullptr));
  }

 private:
  HANDLE handle_ = nullptr;
};

std::string ToUtf8(const wchar_t* text);
std::string ToUtf8(const std::wstring& text);
std::wstring ToWide(const std::string& text);

// "0x88890004 AUDCLNT_E_DEVICE_INVALIDATED" or "0x80070005 (Access is denied.)".
std::string DescribeHresult(HRESULT hr);
// The EngineError code for a failed call: ENOSERVER (audio service not running),
// EPERMISSION (access denied), EFORMAT (format rejected), EUNSUPPORTED (not implemented),
// otherwise EOS.
const char* ErrorCodeFor(HRESULT hr);
// Throws EngineError naming the call and its status.
[[noreturn]] void ThrowHresult(const char* call, HRESULT hr);
inline void Check(const char* call, HRESULT hr) {
  if (FAILED(hr)) ThrowHresult(call, hr);
}

// The running Windows build (e.g. 19045, 22631), from RtlGetVersion, which unlike
// GetVersionEx does not depend on the host executable's compatibility manifest.
// 0 when unknown.
uint32_t WindowsBuild();

}  // namespace win
}  // namespace audiotap

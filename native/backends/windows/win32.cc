#include "backends/windows/win32.h"

#include <audioclient.h>

#include <cstdio>

namespace audiotap {
namespace win {

ComApartment::ComApartment() {
  const HRESULT hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  // RPC_E_CHANGED_MODE: the thread is already in a single-threaded apartment (a host that
  // initialised COM on its worker threads). COM still works there; it is just not ours to end.
  if (SUCCEEDED(hr)) {
    uninitialize_ = true;
  } else if (hr != RPC_E_CHANGED_MODE) {
    ThrowHresult("CoInitializeEx", hr);
  }
}

ComApartment::~ComApartment() {
  if (uninitialize_) CoUninitialize();
}

std::string ToUtf8(const wchar_t* text) {
  if (!text || !*text) return std::string();
  const int bytes = WideCharToMultiByte(CP_UTF8, 0, text, -1, nullptr, 0, nullptr, nullptr);
  if (bytes <= 1) return std::string();
  std::string out(static_cast<size_t>(bytes), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text, -1, &out[0], bytes, nullptr, nullptr);
  out.resize(static_cast<size_t>(bytes) - 1);
  return out;
}

std::string ToUtf8(const std::wstring& text) { return ToUtf8(text.c_str()); }

std::wstring ToWide(const std::string& text) {
  if (text.empty()) return std::wstring();
  const int chars = MultiByteToWideChar(CP_UTF8, 0, text.c_str(), -1, nullptr, 0);
  if (chars <= 1) return std::wstring();
  std::wstring out(static_cast<size_t>(chars), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.c_str(), -1, &out[0], chars);
  out.resize(static_cast<size_t>(chars) - 1);
  return out;
}

namespace {

// Audio-client statuses get their symbolic names: FormatMessage does not know them.
const char* AudioStatusName(HRESULT hr) {
  switch (hr) {
    case AUDCLNT_E_NOT_INITIALIZED: return "AUDCLNT_E_NOT_INITIALIZED";
    case AUDCLNT_E_ALREADY_INITIALIZED: return "AUDCLNT_E_ALREADY_INITIALIZED";
    case AUDCLNT_E_WRONG_ENDPOINT_TYPE: return "AUDCLNT_E_WRONG_ENDPOINT_TYPE";
    case AUDCLNT_E_DEVICE_INVALIDATED: return "AUDCLNT_E_DEVICE_INVALIDATED";
    case AUDCLNT_E_NOT_STOPPED: return "AUDCLNT_E_NOT_STOPPED";
    case AUDCLNT_E_BUFFER_TOO_LARGE: return "AUDCLNT_E_BUFFER_TOO_LARGE";
    case AUDCLNT_E_OUT_OF_ORDER: return "AUDCLNT_E_OUT_OF_ORDER";
    case AUDCLNT_E_UNSUPPORTED_FORMAT: return "AUDCLNT_E_UNSUPPORTED_FORMAT";
    case AUDCLNT_E_INVALID_SIZE: return "AUDCLNT_E_INVALID_SIZE";
    case AUDCLNT_E_DEVICE_IN_USE: return "AUDCLNT_E_DEVICE_IN_USE";
    case AUDCLNT_E_BUFFER_OPERATION_PENDING: return "AUDCLNT_E_BUFFER_OPERATION_PENDING";
    case AUDCLNT_E_THREAD_NOT_REGISTERED: return "AUDCLNT_E_THREAD_NOT_REGISTERED";
    case AUDCLNT_E_ENDPOINT_CREATE_FAILED: return "AUDCLNT_E_ENDPOINT_CREATE_FAILED";
    case AUDCLNT_E_SERVICE_NOT_RUNNING: return "AUDCLNT_E_SERVICE_NOT_RUNNING";
    case AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED: return "AUDCLNT_E_EVENTHANDLE_NOT_EXPECTED";
    case AUDCLNT_E_EXCLUSIVE_MODE_ONLY: return "AUDCLNT_E_EXCLUSIVE_MODE_ONLY";
    case AUDCLNT_E_BUFDURATION_PERIOD_NOT_EQUAL:
      return "AUDCLNT_E_BUFDURATION_PERIOD_NOT_EQUAL";
    case AUDCLNT_E_EVENTHANDLE_NOT_SET: return "AUDCLNT_E_EVENTHANDLE_NOT_SET";
    case AUDCLNT_E_INCORRECT_BUFFER_SIZE: return "AUDCLNT_E_INCORRECT_BUFFER_SIZE";
    case AUDCLNT_E_BUFFER_SIZE_ERROR: return "AUDCLNT_E_BUFFER_SIZE_ERROR";
    case AUDCLNT_E_CPUUSAGE_EXCEEDED: return "AUDCLNT_E_CPUUSAGE_EXCEEDED";
    case AUDCLNT_E_BUFFER_ERROR: return "AUDCLNT_E_BUFFER_ERROR";
    case AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED: return "AUDCLNT_E_BUFFER_SIZE_NOT_ALIGNED";
    case AUDCLNT_E_INVALID_DEVICE_PERIOD: return "AUDCLNT_E_INVALID_DEVICE_PERIOD";
    default: return nullptr;
  }
}

}  // namespace

std::string DescribeHresult(HRESULT hr) {
  char code[16];
  std::snprintf(code, sizeof(code), "0x%08lX", static_cast<unsigned long>(hr));
  std::string text(code);
  if (const char* name = AudioStatusName(hr)) return text + " " + name;
  wchar_t* message = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, static_cast<DWORD>(hr), 0, reinterpret_cast<wchar_t*>(&message), 0, nullptr);
  if (length > 0 && message) {
    std::string body = ToUtf8(message);
    LocalFree(message);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) {
      body.pop_back();
    }
    if (!body.empty()) text += " (" + body + ")";
  }
  return text;
}

const char* ErrorCodeFor(HRESULT hr) {
  switch (hr) {
    case AUDCLNT_E_SERVICE_NOT_RUNNING:
    case REGDB_E_CLASSNOTREG:
      return "ENOSERVER";
    case E_ACCESSDENIED:
      return "EPERMISSION";
    case AUDCLNT_E_UNSUPPORTED_FORMAT:
      return "EFORMAT";
    case E_NOTIMPL:
    case E_NOINTERFACE:
      return "EUNSUPPORTED";
    default:
      return "EOS";
  }
}

void ThrowHresult(const char* call, HRESULT hr) {
  throw EngineError(ErrorCodeFor(hr), std::string(call) + " failed: " + DescribeHresult(hr));
}

uint32_t WindowsBuild() {
  // RtlGetVersion has the OSVERSIONINFOW layout and returns an NTSTATUS (0 = success).
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (!ntdll) return 0;
  // Through void*: FARPROC has no parameters, and the direct cast is a function-type mismatch.
  void* proc = reinterpret_cast<void*>(GetProcAddress(ntdll, "RtlGetVersion"));
  if (!proc) return 0;
  auto rtl_get_version = reinterpret_cast<RtlGetVersionFn>(proc);
  OSVERSIONINFOW info{};
  info.dwOSVersionInfoSize = sizeof(info);
  if (rtl_get_version(&info) != 0) return 0;
  return info.dwBuildNumber;
}

}  // namespace win
}  // namespace audiotap

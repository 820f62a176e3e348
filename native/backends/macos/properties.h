// Core Audio property access, the conversions between Core Audio's stream descriptions and
// tap_logic's PcmLayout, and the autorelease pool every backend call runs in. Objective-C++:
// included by the .mm files of this backend only.
#pragma once

#import <Foundation/Foundation.h>

#include <CoreAudio/AudioHardware.h>

#include <exception>
#include <string>
#include <vector>

#include "backends/macos/tap_logic.h"
#include "core/engine.h"

namespace audiotap {
namespace mac {

// The address of a property of the main element, in `scope`.
inline AudioObjectPropertyAddress Address(
    AudioObjectPropertySelector selector,
    AudioObjectPropertyScope scope = kAudioObjectPropertyScopeGlobal) {
  return {selector, scope, kAudioObjectPropertyElementMain};
}

// Throws EngineError (MapOSStatus) naming `call` when `status` is not noErr.
inline void Check(OSStatus status, const std::string& call) {
  if (status != noErr) throw MapOSStatus(call, status);
}

// A fixed-size property into `value`; the OSStatus of the call.
template <typename T>
OSStatus TryGet(AudioObjectID object, const AudioObjectPropertyAddress& address, T* value,
                const void* qualifier = nullptr, UInt32 qualifier_size = 0) {
  UInt32 size = sizeof(T);
  return AudioObjectGetPropertyData(object, &address, qualifier_size, qualifier, &size, value);
}

// A fixed-size property. Throws EngineError naming `what`.
template <typename T>
T Get(AudioObjectID object, const AudioObjectPropertyAddress& address, const char* what,
      const void* qualifier = nullptr, UInt32 qualifier_size = 0) {
  T value{};
  Check(TryGet(object, address, &value, qualifier, qualifier_size),
        std::string("AudioObjectGetPropertyData(") + what + ")");
  return value;
}

// An array property (object lists, stream lists). Throws EngineError naming `what`.
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

// UTF-8 of an NSString; "" for nil.
std::string ToStdString(NSString* text);

// A CFString property; "" when the object has none or is gone.
std::string TryGetString(AudioObjectID object, const AudioObjectPropertyAddress& address);

// A CFString property. Throws EngineError naming `what`.
std::string GetString(AudioObjectID object, const AudioObjectPropertyAddress& address,
                      const char* what);

// An object found by a CFString qualifier (TranslateUIDToDevice / TranslateUIDToTap).
AudioObjectID TranslateUID(AudioObjectPropertySelector selector, const std::string& uid,
                           const char* what);

PcmLayout LayoutFromAsbd(const AudioStreamBasicDescription& asbd);
AudioStreamBasicDescription AsbdFromLayout(const PcmLayout& layout);

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

}  // namespace mac
}  // namespace audiotap

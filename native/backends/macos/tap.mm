#include "backends/macos/tap.h"

#import <Foundation/Foundation.h>
#import <CoreAudio/AudioHardwareTapping.h>
#import <CoreAudio/CATapDescription.h>

#include <string>

#include "backends/macos/properties.h"

namespace audiotap {
namespace mac {

namespace {

CATapMuteBehavior ToMuteBehavior(MuteMode mode) {
  switch (mode) {
    case MuteMode::kUnmuted: return CATapUnmuted;
    case MuteMode::kMuted: return CATapMuted;
    case MuteMode::kMutedWhenTapped: return CATapMutedWhenTapped;
  }
  return CATapUnmuted;
}

}  // namespace

API_AVAILABLE(macos(14.2))
AudioObjectID CreateProcessTap(const TapPlan& plan) {
  NSMutableArray<NSNumber*>* processes =
      [NSMutableArray arrayWithCapacity:plan.processes.size()];
  for (uint32_t object : plan.processes) [processes addObject:@(object)];
  NSString* device_uid = plan.device_uid.empty()
                             ? nil
                             : [NSString stringWithUTF8String:plan.device_uid.c_str()];

  // Looked up by name rather than linked: a class reference would be a strong import that
  // could keep the addon from loading on a macOS without the class.
  Class tap_class = NSClassFromString(@"CATapDescription");
  if (tap_class == Nil) {
    throw EngineError("EUNSUPPORTED", RequiresMacOS142Message("creating a process tap"));
  }
  CATapDescription* description = nil;
  if (plan.stream >= 0 && device_uid != nil) {
    description = [[tap_class alloc] initWithProcesses:processes
                                          andDeviceUID:device_uid
                                            withStream:plan.stream];
    // The initializer's direction is "include"; exclusive turns the list into "all but".
    description.exclusive = plan.exclusive;
  } else if (plan.exclusive) {
    description = plan.mono ? [[tap_class alloc] initMonoGlobalTapButExcludeProcesses:processes]
                            : [[tap_class alloc] initStereoGlobalTapButExcludeProcesses:processes];
  } else {
    description = plan.mono ? [[tap_class alloc] initMonoMixdownOfProcesses:processes]
                            : [[tap_class alloc] initStereoMixdownOfProcesses:processes];
  }
  if (description == nil) {
    throw EngineError("EOS", "CATapDescription could not be initialised");
  }
  if (plan.stream < 0 && device_uid != nil) description.deviceUID = device_uid;
  description.name = @(kTapName);
  description.UUID = [NSUUID UUID];
  description.privateTap = plan.private_tap ? YES : NO;
  description.muteBehavior = ToMuteBehavior(plan.mute);

  AudioObjectID tap = kAudioObjectUnknown;
  Check(AudioHardwareCreateProcessTap(description, &tap), "AudioHardwareCreateProcessTap");
  if (tap == kAudioObjectUnknown) {
    throw EngineError("EOS", "AudioHardwareCreateProcessTap returned no tap object");
  }
  return tap;
}

API_AVAILABLE(macos(14.2))
void DestroyProcessTap(AudioObjectID tap) { AudioHardwareDestroyProcessTap(tap); }

API_AVAILABLE(macos(14.2))
void SetTapProcesses(AudioObjectID tap, const std::vector<uint32_t>& objects) {
  const AudioObjectPropertyAddress address = Address(kAudioTapPropertyDescription);
  CFTypeRef raw = nullptr;
  UInt32 size = sizeof(raw);
  Check(AudioObjectGetPropertyData(tap, &address, 0, nullptr, &size, &raw),
        "AudioObjectGetPropertyData(kAudioTapPropertyDescription)");
  CATapDescription* description = CFBridgingRelease(raw);
  if (description == nil) throw EngineError("EOS", "the tap has no description");
  NSMutableArray<NSNumber*>* processes = [NSMutableArray arrayWithCapacity:objects.size()];
  for (uint32_t object : objects) [processes addObject:@(object)];
  description.processes = processes;
  CFTypeRef updated = (__bridge CFTypeRef)description;
  Check(AudioObjectSetPropertyData(tap, &address, 0, nullptr, sizeof(updated), &updated),
        "AudioObjectSetPropertyData(kAudioTapPropertyDescription)");
}

}  // namespace mac
}  // namespace audiotap

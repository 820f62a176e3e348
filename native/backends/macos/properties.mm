#include "backends/macos/properties.h"

namespace audiotap {
namespace mac {

std::string ToStdString(NSString* text) {
  if (text == nil) return "";
  const char* utf8 = text.UTF8String;
  return utf8 ? std::string(utf8) : std::string();
}

// A CFString property; "" when the object has none or is gone.
std::string TryGetString(AudioObjectID object, const AudioObjectPropertyAddress& address) {
  CFStringRef value = nullptr;
  if (TryGet(object, address, &value) != noErr || value == nullptr) return "";
  return ToStdString(CFBridgingRelease(value));
}

std::string GetString(AudioObjectID object, const AudioObjectPropertyAddress& address,
                      const char* what) {
  CFStringRef value = nullptr;
  Check(TryGet(object, address, &value), std::string("AudioObjectGetPropertyData(") + what + ")");
  return ToStdString(CFBridgingRelease(value));
}

// An object found by a CFString qualifier (TranslateUIDToDevice / TranslateUIDToTap).
AudioObjectID TranslateUID(AudioObjectPropertySelector selector, const std::string& uid,
                           const char* what) {
  // The NSString must outlive the call: ARC may otherwise release it right after the cast.
  NS_VALID_UNTIL_END_OF_SCOPE NSString* text = [NSString stringWithUTF8String:uid.c_str()];
  if (text == nil) return kAudioObjectUnknown;
  CFStringRef qualifier = (__bridge CFStringRef)text;
  return Get<AudioObjectID>(kAudioObjectSystemObject, Address(selector), what, &qualifier,
                            sizeof(qualifier));
}

PcmLayout LayoutFromAsbd(const AudioStreamBasicDescription& asbd) {
  PcmLayout layout;
  layout.sample_rate = asbd.mSampleRate;
  layout.channels = asbd.mChannelsPerFrame;
  layout.bits_per_channel = asbd.mBitsPerChannel;
  layout.bytes_per_frame = asbd.mBytesPerFrame;
  layout.linear_pcm = asbd.mFormatID == kAudioFormatLinearPCM;
  layout.is_float = (asbd.mFormatFlags & kAudioFormatFlagIsFloat) != 0;
  layout.is_signed_integer = (asbd.mFormatFlags & kAudioFormatFlagIsSignedInteger) != 0;
  layout.is_packed = (asbd.mFormatFlags & kAudioFormatFlagIsPacked) != 0;
  layout.is_big_endian = (asbd.mFormatFlags & kAudioFormatFlagIsBigEndian) != 0;
  layout.non_interleaved = (asbd.mFormatFlags & kAudioFormatFlagIsNonInterleaved) != 0;
  return layout;
}

AudioStreamBasicDescription AsbdFromLayout(const PcmLayout& layout) {
  AudioStreamBasicDescription asbd{};
  asbd.mSampleRate = layout.sample_rate;
  asbd.mFormatID = kAudioFormatLinearPCM;
  asbd.mFormatFlags = (layout.is_float ? kAudioFormatFlagIsFloat : 0) |
                      (layout.is_signed_integer ? kAudioFormatFlagIsSignedInteger : 0) |
                      (layout.is_packed ? kAudioFormatFlagIsPacked : 0) |
                      (layout.is_big_endian ? kAudioFormatFlagIsBigEndian : 0) |
                      (layout.non_interleaved ? kAudioFormatFlagIsNonInterleaved : 0);
  asbd.mBytesPerPacket = layout.bytes_per_frame;
  asbd.mFramesPerPacket = 1;
  asbd.mBytesPerFrame = layout.bytes_per_frame;
  asbd.mChannelsPerFrame = layout.channels;
  asbd.mBitsPerChannel = layout.bits_per_channel;
  return asbd;
}

}  // namespace mac
}  // namespace audiotap

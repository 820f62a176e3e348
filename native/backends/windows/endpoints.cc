#include "backends/windows/endpoints.h"

#include <vector>

namespace audiotap {
namespace win {

ComPtr<IMMDeviceEnumerator> CreateDeviceEnumerator() {
  ComPtr<IMMDeviceEnumerator> enumerator;
  Check("CoCreateInstance(MMDeviceEnumerator)",
        CoCreateInstance(__uuidof(MMDeviceEnumerator), nullptr, CLSCTX_ALL,
                         __uuidof(IMMDeviceEnumerator), enumerator.PutVoid()));
  return enumerator;
}

namespace {

// PKEY_Device_FriendlyName ({a45c254e-df1c-4efd-8020-67d146a850e0}, 14), spelled out here
// because the SDK's definition needs INITGUID in exactly one translation unit.
const PROPERTYKEY kDeviceFriendlyName = {
    {0xa45c254e, 0xdf1c, 0x4efd, {0x80, 0x20, 0x67, 0xd1, 0x46, 0xa8, 0x50, 0xe0}}, 14};

struct EndpointInfo {
  std::wstring id;
  std::wstring name;  // "Speakers (Realtek(R) Audio)", as the Sound settings show it
};

std::wstring EndpointId(IMMDevice* device) {
  wchar_t* id = nullptr;
  if (FAILED(device->GetId(&id)) || !id) return std::wstring();
  std::wstring out(id);
  CoTaskMemFree(id);
  return out;
}

std::wstring EndpointName(IMMDevice* device) {
  ComPtr<IPropertyStore> properties;
  if (FAILED(device->OpenPropertyStore(STGM_READ, properties.Put()))) return std::wstring();
  PROPVARIANT value;
  PropVariantInit(&value);
  std::wstring name;
  if (SUCCEEDED(properties->GetValue(kDeviceFriendlyName, &value)) && value.vt == VT_LPWSTR &&
      value.pwszVal) {
    name = value.pwszVal;
  }
  PropVariantClear(&value);
  return name;
}

bool SameTextIgnoringCase(const std::wstring& a, const std::wstring& b) {
  return CompareStringOrdinal(a.c_str(), static_cast<int>(a.size()), b.c_str(),
                              static_cast<int>(b.size()), TRUE) == CSTR_EQUAL;
}

// What a user calls an endpoint of `flow`, and where Windows lists them.
struct FlowWords {
  const char* device;    // "output device"
  const char* settings;  // "Output"
};

FlowWords WordsFor(EDataFlow flow) {
  return flow == eCapture ? FlowWords{"input device", "Input"} : FlowWords{"output device", "Output"};
}

std::string DescribeEndpoints(const std::vector<EndpointInfo>& endpoints, EDataFlow flow) {
  const FlowWords words = WordsFor(flow);
  if (endpoints.empty()) return std::string("there is no active ") + words.device;
  std::string list;
  for (const EndpointInfo& endpoint : endpoints) {
    if (!list.empty()) list += ", ";
    list += "\"" + win::ToUtf8(endpoint.name) + "\" (ID " + win::ToUtf8(endpoint.id) + ")";
  }
  return std::string("the active ") + words.device + "s are " + list +
         " (names as in Settings > System > Sound > " + words.settings + ")";
}

}  // namespace

ComPtr<IMMDevice> OpenEndpoint(EDataFlow flow, const std::string& device) {
  const FlowWords words = WordsFor(flow);
  ComPtr<IMMDeviceEnumerator> enumerator = CreateDeviceEnumerator();
  ComPtr<IMMDevice> endpoint;
  if (device.empty()) {
    const HRESULT hr = enumerator->GetDefaultAudioEndpoint(flow, eConsole, endpoint.Put());
    if (hr == HRESULT_FROM_WIN32(ERROR_NOT_FOUND)) {
      throw EngineError("ENOAPP", std::string("there is no default ") + words.device +
                                      " (no active " + (flow == eCapture ? "capture" : "render") +
                                      " endpoint); connect or enable one in Settings > System > "
                                      "Sound");
    }
    Check("IMMDeviceEnumerator::GetDefaultAudioEndpoint", hr);
    return endpoint;
  }
  const std::wstring wanted = win::ToWide(device);
  if (SUCCEEDED(enumerator->GetDevice(wanted.c_str(), endpoint.Put()))) {
    // GetDevice also finds endpoints of the other direction and unplugged or disabled ones.
    ComPtr<IMMEndpoint> flow_query;
    EDataFlow found = flow;
    DWORD state = 0;
    if (SUCCEEDED(endpoint->QueryInterface(__uuidof(IMMEndpoint), flow_query.PutVoid())) &&
        SUCCEEDED(flow_query->GetDataFlow(&found)) && found != flow) {
      throw EngineError("ENOAPP", "the endpoint \"" + device + "\" is an " +
                                      WordsFor(found).device + ", not an " + words.device);
    }
    if (SUCCEEDED(endpoint->GetState(&state)) && state != DEVICE_STATE_ACTIVE) {
      throw EngineError("ENOAPP", std::string("the ") + words.device + " \"" + device + "\" (" +
                                      win::ToUtf8(EndpointName(endpoint.Get())) +
                                      ") is not active: it is unplugged or disabled");
    }
    return endpoint;
  }
  ComPtr<IMMDeviceCollection> collection;
  Check("IMMDeviceEnumerator::EnumAudioEndpoints",
        enumerator->EnumAudioEndpoints(flow, DEVICE_STATE_ACTIVE, collection.Put()));
  UINT count = 0;
  Check("IMMDeviceCollection::GetCount", collection->GetCount(&count));
  std::vector<EndpointInfo> endpoints;
  std::vector<ComPtr<IMMDevice>> matches;
  for (UINT i = 0; i < count; ++i) {
    ComPtr<IMMDevice> item;
    if (FAILED(collection->Item(i, item.Put()))) continue;
    EndpointInfo info{EndpointId(item.Get()), EndpointName(item.Get())};
    if (!info.name.empty() && SameTextIgnoringCase(info.name, wanted)) matches.push_back(item);
    endpoints.push_back(std::move(info));
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    throw EngineError("EAMBIGUOUS", std::string("several ") + words.device + "s are named \"" +
                                        device + "\"; choose one by its endpoint ID: " +
                                        DescribeEndpoints(endpoints, flow));
  }
  throw EngineError("ENOAPP", std::string("no ") + words.device + " has the endpoint ID or name \"" +
                                  device + "\"; " + DescribeEndpoints(endpoints, flow));
}

WAVEFORMATEX WaveFormatFor(const Format& format) {
  WAVEFORMATEX wave{};
  const bool is_float = format.encoding == SampleEncoding::kF32LE;
  wave.wFormatTag = is_float ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  wave.nChannels = static_cast<WORD>(format.channels);
  wave.nSamplesPerSec = format.sample_rate;
  wave.wBitsPerSample = static_cast<WORD>(8 * BytesPerSample(format.encoding));
  wave.nBlockAlign = static_cast<WORD>(format.BytesPerFrame());
  wave.nAvgBytesPerSec = wave.nSamplesPerSec * wave.nBlockAlign;
  wave.cbSize = 0;
  return wave;
}

std::string DescribeFormat(const Format& format) {
  return std::to_string(format.sample_rate) + " Hz, " + std::to_string(format.channels) +
         " channel(s), " + EncodingName(format.encoding);
}

void ValidateFormat(const Format& format) {
  if (format.sample_rate < 8000 || format.sample_rate > 192000) {
    throw EngineError("EFORMAT", "sample rate " + std::to_string(format.sample_rate) +
                                     " Hz is outside 8000..192000 Hz");
  }
  if (format.channels != 1 && format.channels != 2) {
    throw EngineError("EFORMAT", "channels must be 1 or 2, not " +
                                     std::to_string(format.channels));
  }
}

}  // namespace win
}  // namespace audiotap

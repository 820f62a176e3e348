#include "backends/linux/stream_targets.h"

#include <cstdlib>
#include <iterator>
#include <utility>
#include <vector>

namespace audiotap {
namespace pulse {
namespace {

constexpr const char* kTargetKeys[] = {"target.node", "target.object"};

bool IsTargetKey(const char* key) {
  for (const char* k : kTargetKeys) {
    if (std::string(k) == key) return true;
  }
  return false;
}

const char* Lookup(const spa_dict* props, const char* key) {
  return props ? spa_dict_lookup(props, key) : nullptr;
}

// The `pipewire-0` socket in the directory of PULSE_SERVER's pulse socket
// ("unix:/run/user/1000/pulse/native" -> "/run/user/1000/pipewire-0"): pipewire-pulse serves
// from its server's runtime directory. "" when PULSE_SERVER names no such socket.
std::string RemoteBesidePulseServer() {
  const char* server = std::getenv("PULSE_SERVER");
  if (!server) return "";
  std::string path = server;
  const size_t space = path.find(' ');
  if (space != std::string::npos) path.resize(space);  // a list: the first entry
  if (path.rfind("unix:", 0) == 0) path.erase(0, 5);
  const std::string suffix = "/pulse/native";
  if (path.size() <= suffix.size() || path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  return path.substr(0, path.size() - suffix.size()) + "/pipewire-0";
}

}  // namespace

std::unique_ptr<StreamTargets> StreamTargets::Connect(const std::string& private_sink) {
  const PipeWireApi* api = PipeWire();
  if (!api) return nullptr;
  const std::string beside = RemoteBesidePulseServer();
  std::vector<const char*> remotes{nullptr};  // libpipewire's default first
  if (!beside.empty()) remotes.push_back(beside.c_str());
  for (const char* remote : remotes) {
    std::unique_ptr<StreamTargets> targets(new StreamTargets(*api, private_sink));
    if (targets->Open(remote)) return targets;
  }
  return nullptr;
}

StreamTargets::StreamTargets(const PipeWireApi& api, std::string private_sink)
    : pw_(api), private_sink_(std::move(private_sink)) {}

bool StreamTargets::Open(const char* remote) {
  loop_ = pw_.pw_thread_loop_new("audio-tap-pw", nullptr);
  if (!loop_) return false;
  context_ = pw_.pw_context_new(pw_.pw_thread_loop_get_loop(loop_), nullptr, 0);
  if (!context_ || pw_.pw_thread_loop_start(loop_) < 0) return false;
  pw_.pw_thread_loop_lock(loop_);
  pw_properties* props = remote ? pw_.pw_properties_new(PW_KEY_REMOTE_NAME, remote, nullptr) : nullptr;
  core_ = pw_.pw_context_connect(context_, props, 0);
  bool found = false;
  if (core_) {
    static const pw_core_events core_events = [] {
      pw_core_events events{};
      events.version = PW_VERSION_CORE_EVENTS;
      events.done = &StreamTargets::OnDone;
      events.error = &StreamTargets::OnError;
      return events;
    }();
    static const pw_registry_events registry_events = [] {
      pw_registry_events events{};
      events.version = PW_VERSION_REGISTRY_EVENTS;
      events.global = &StreamTargets::OnGlobal;
      events.global_remove = &StreamTargets::OnGlobalRemove;
      return events;
    }();
    pw_core_add_listener(core_, &core_listener_, &core_events, this);
    registry_ = pw_core_get_registry(core_, PW_VERSION_REGISTRY, 0);
    if (registry_) {
      pw_registry_add_listener(registry_, &registry_listener_, &registry_events, this);
      // The first round trip lists the globals (and binds the metadata), the second brings the
      // metadata's properties.
      found = Roundtrip() && Roundtrip() && metadata_ && NodeNamed(private_sink_);
    }
  }
  pw_.pw_thread_loop_unlock(loop_);
  return found;
}

StreamTargets::~StreamTargets() {
  if (loop_) {
    pw_.pw_thread_loop_lock(loop_);
    if (metadata_) {
      spa_hook_remove(&metadata_listener_);
      pw_.pw_proxy_destroy(reinterpret_cast<pw_proxy*>(metadata_));
    }
    if (registry_) {
      spa_hook_remove(&registry_listener_);
      pw_.pw_proxy_destroy(reinterpret_cast<pw_proxy*>(registry_));
    }
    if (core_) {
      spa_hook_remove(&core_listener_);
      pw_.pw_core_disconnect(core_);
    }
    pw_.pw_thread_loop_unlock(loop_);
    pw_.pw_thread_loop_stop(loop_);
  }
  if (context_) pw_.pw_context_destroy(context_);
  if (loop_) pw_.pw_thread_loop_destroy(loop_);
}

// With the loop locked: waits until `done` holds, at most `timeout_ms`.
bool StreamTargets::WaitUntil(int timeout_ms, bool (StreamTargets::*done)() const) {
  timespec deadline{};
  pw_.pw_thread_loop_get_time(loop_, &deadline, static_cast<int64_t>(timeout_ms) * SPA_NSEC_PER_MSEC);
  while (!(this->*done)()) {
    if (pw_.pw_thread_loop_timed_wait_full(loop_, &deadline) < 0) return (this->*done)();
  }
  return true;
}

// With the loop locked: everything the server sent before now has been handled.
bool StreamTargets::Roundtrip() {
  if (failed_) return false;
  pending_seq_ = pw_core_sync(core_, PW_ID_CORE, 0);
  return WaitUntil(1000, &StreamTargets::Synced) && !failed_;
}

const std::pair<const uint32_t, StreamTargets::Node>* StreamTargets::NodeWithSerial(const std::string& serial) const {
  for (const auto& entry : nodes_) {
    if (entry.second.serial == serial) return &entry;
  }
  return nullptr;
}

const std::pair<const uint32_t, StreamTargets::Node>* StreamTargets::NodeNamed(const std::string& name) const {
  for (const auto& entry : nodes_) {
    if (entry.second.name == name) return &entry;
  }
  return nullptr;
}

void StreamTargets::Remember(uint32_t sink_input) {
  const std::string serial = std::to_string(sink_input);
  pw_.pw_thread_loop_lock(loop_);
  // The stream may be newer than the last registry event seen: ask once.
  const auto* node = NodeWithSerial(serial);
  if (!node && Roundtrip()) node = NodeWithSerial(serial);
  if (node && !remembered_.count(node->first)) {
    auto current = targets_.find(node->first);
    remembered_[node->first] = current == targets_.end() ? Keys{} : current->second;
  }
  pw_.pw_thread_loop_unlock(loop_);
}

bool StreamTargets::MovesBackArrived() const {
  const auto* sink = NodeNamed(private_sink_);
  if (!sink) return true;
  const std::string id = std::to_string(sink->first);
  for (const auto& [stream, before] : remembered_) {
    auto now = targets_.find(stream);
    if (!nodes_.count(stream) || now == targets_.end()) continue;
    auto named = [&](const char* key, const std::string& value) {
      auto it = now->second.find(key);
      return it != now->second.end() && it->second.value == value;
    };
    if (named("target.node", id) || named("target.object", sink->second.serial)) return false;
  }
  return true;
}

void StreamTargets::PutBack(const std::set<uint32_t>& sink_inputs) {
  pw_.pw_thread_loop_lock(loop_);
  for (auto it = remembered_.begin(); it != remembered_.end();) {
    auto node = nodes_.find(it->first);
    const bool back = node != nodes_.end() &&
                      sink_inputs.count(static_cast<uint32_t>(std::strtoul(node->second.serial.c_str(), nullptr, 10)));
    it = back ? std::next(it) : remembered_.erase(it);
  }
  if (Roundtrip()) WaitUntil(1000, &StreamTargets::MovesBackArrived);
  for (const auto& [stream, before] : remembered_) {
    if (!nodes_.count(stream)) continue;  // ended meanwhile
    const Keys now = targets_.count(stream) ? targets_[stream] : Keys{};
    for (const char* key : kTargetKeys) {
      if (!before.count(key) && now.count(key)) {
        pw_metadata_set_property(metadata_, stream, key, nullptr, nullptr);
      }
    }
    for (const auto& [key, value] : before) {
      pw_metadata_set_property(metadata_, stream, key.c_str(), value.type.c_str(), value.value.c_str());
    }
  }
  remembered_.clear();
  Roundtrip();  // the writes have reached the server before the connection closes
  pw_.pw_thread_loop_unlock(loop_);
}

void StreamTargets::OnGlobal(void* data, uint32_t id, uint32_t, const char* type, uint32_t,
                             const spa_dict* props) {
  auto* self = static_cast<StreamTargets*>(data);
  if (std::string(type) == PW_TYPE_INTERFACE_Node) {
    const char* serial = Lookup(props, PW_KEY_OBJECT_SERIAL);
    const char* name = Lookup(props, PW_KEY_NODE_NAME);
    self->nodes_[id] = Node{serial ? serial : "", name ? name : ""};
  } else if (std::string(type) == PW_TYPE_INTERFACE_Metadata && !self->metadata_) {
    const char* name = Lookup(props, PW_KEY_METADATA_NAME);
    if (!name || std::string(name) != "default") return;
    self->metadata_ = static_cast<pw_metadata*>(
        pw_registry_bind(self->registry_, id, PW_TYPE_INTERFACE_Metadata, PW_VERSION_METADATA, 0));
    if (!self->metadata_) return;
    static const pw_metadata_events metadata_events = [] {
      pw_metadata_events events{};
      events.version = PW_VERSION_METADATA_EVENTS;
      events.property = &StreamTargets::OnProperty;
      return events;
    }();
    pw_metadata_add_listener(self->metadata_, &self->metadata_listener_, &metadata_events, self);
  }
}

void StreamTargets::OnGlobalRemove(void* data, uint32_t id) {
  auto* self = static_cast<StreamTargets*>(data);
  self->nodes_.erase(id);
  self->targets_.erase(id);
  self->pw_.pw_thread_loop_signal(self->loop_, false);
}

int StreamTargets::OnProperty(void* data, uint32_t subject, const char* key, const char* type,
                              const char* value) {
  auto* self = static_cast<StreamTargets*>(data);
  if (key == nullptr) {
    self->targets_.erase(subject);  // all keys of the subject removed
  } else if (IsTargetKey(key)) {
    if (value) {
      self->targets_[subject][key] = Value{type ? type : "", value};
    } else {
      self->targets_[subject].erase(key);
    }
  }
  self->pw_.pw_thread_loop_signal(self->loop_, false);
  return 0;
}

void StreamTargets::OnDone(void* data, uint32_t id, int seq) {
  auto* self = static_cast<StreamTargets*>(data);
  if (id != PW_ID_CORE) return;
  self->done_seq_ = seq;
  self->pw_.pw_thread_loop_signal(self->loop_, false);
}

void StreamTargets::OnError(void* data, uint32_t id, int, int, const char*) {
  auto* self = static_cast<StreamTargets*>(data);
  if (id != PW_ID_CORE) return;  // an object's error (a refused write) is not the connection's
  self->failed_ = true;
  self->pw_.pw_thread_loop_signal(self->loop_, false);
}

}  // namespace pulse
}  // namespace audiotap

// PipeWire's stored stream targets. WirePlumber (0.4: restore-stream.lua) stores the target a
// client gives a stream — the `target.node` / `target.object` keys of the "default" metadata,
// which pipewire-pulse writes on every move — as that app's preferred sink, and sends the app's
// next runs there. A muted capture moves the app's streams into its private sink and back, so
// through the pulse protocol alone it would pin an app to the sink it came back to. This class,
// connected to the same PipeWire server, remembers each stream's keys before its first move and
// puts them back once the stream is back (deleting those it did not have), so that WirePlumber
// stores what it had before.
//
// Found by the private sink: the PipeWire server tried (libpipewire's default remote, then the
// `pipewire-0` socket beside the pulse socket of PULSE_SERVER) must hold the sink just created
// for the capture, whose name is unique, or it is not the server the capture runs on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "backends/linux/pipewire_api.h"

namespace audiotap {
namespace pulse {

class StreamTargets {
 public:
  // Connects to the PipeWire server that holds the node named `private_sink` (the muted
  // capture's null sink, created just before), and reads the "default" metadata. nullptr when
  // libpipewire is not installed or no PipeWire server reached holds that sink (PulseAudio, or
  // a PipeWire the process cannot reach: then nothing is put back, as before). Never throws;
  // blocks for at most about a second per server tried.
  static std::unique_ptr<StreamTargets> Connect(const std::string& private_sink);
  ~StreamTargets();
  StreamTargets(const StreamTargets&) = delete;
  StreamTargets& operator=(const StreamTargets&) = delete;

  // Any thread, just before the stream whose pulse index is `sink_input` (pipewire-pulse's
  // index is the node's object.serial) is first moved: remembers its target keys. Later calls
  // for the same stream keep the first.
  void Remember(uint32_t sink_input);

  // After the streams `sink_inputs` (pulse indexes) are moved back, before the private sink is
  // removed: waits (at most a second) until pipewire-pulse's own writes of the move back have
  // arrived (no key of those streams names the private sink), then deletes the keys each stream
  // did not have and writes back those it had, in that order (WirePlumber stores what the last
  // write says). A remembered stream not in `sink_inputs` (someone else moved it during the
  // capture: that move stands) or that has ended is left alone. Never throws.
  void PutBack(const std::set<uint32_t>& sink_inputs);

 private:
  struct Value {
    std::string type;
    std::string value;
  };
  using Keys = std::map<std::string, Value>;  // target.node / target.object only
  struct Node {
    std::string serial;
    std::string name;
  };

  StreamTargets(const PipeWireApi& api, std::string private_sink);
  bool Open(const char* remote);
  bool WaitUntil(int timeout_ms, bool (StreamTargets::*done)() const);
  bool Roundtrip();
  bool Synced() const { return failed_ || done_seq_ == pending_seq_; }
  bool MovesBackArrived() const;
  const std::pair<const uint32_t, Node>* NodeWithSerial(const std::string& serial) const;
  const std::pair<const uint32_t, Node>* NodeNamed(const std::string& name) const;

  static void OnGlobal(void* data, uint32_t id, uint32_t permissions, const char* type,
                       uint32_t version, const spa_dict* props);
  static void OnGlobalRemove(void* data, uint32_t id);
  static int OnProperty(void* data, uint32_t subject, const char* key, const char* type,
                        const char* value);
  static void OnDone(void* data, uint32_t id, int seq);
  static void OnError(void* data, uint32_t id, int seq, int res, const char* message);

  const PipeWireApi& pw_;
  const std::string private_sink_;
  pw_thread_loop* loop_ = nullptr;
  pw_context* context_ = nullptr;
  pw_core* core_ = nullptr;
  pw_registry* registry_ = nullptr;
  pw_metadata* metadata_ = nullptr;
  spa_hook core_listener_{};
  spa_hook registry_listener_{};
  spa_hook metadata_listener_{};
  int pending_seq_ = 0;
  int done_seq_ = -1;
  bool failed_ = false;
  // Guarded by the thread loop's lock.
  std::map<uint32_t, Node> nodes_;          // by global id
  std::map<uint32_t, Keys> targets_;        // the metadata's target keys, by subject (global id)
  std::map<uint32_t, Keys> remembered_;     // before the first move, by global id
};

}  // namespace pulse
}  // namespace audiotap

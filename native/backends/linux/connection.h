// A connection to the server: a threaded main loop and a context, ready on construction, with
// a deadline on every wait. Shared by capture, playback and the backend's one-shot queries.
#pragma once

#include <pulse/pulseaudio.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/linux/pulse_api.h"
#include "backends/linux/sink_input.h"

namespace audiotap {
namespace pulse {

// The private sink of a muted capture carries these properties. The owner is a random token
// that the capturing connection also carries as a client property, so a sink is stray exactly
// when no connected client carries its token (a PID says nothing across containers, and a
// crashed instance's PID may be reused).
constexpr const char* kOwnerProperty = "audio_tap.owner";
constexpr const char* kOwnerPidProperty = "audio_tap.owner_pid";    // for people reading pactl
constexpr const char* kCaptureProperty = "audio_tap.capture";      // what the capture records
constexpr const char* kRestoreProperty = "audio_tap.restore_sink";
constexpr const char* kInstanceProperty = "audio_tap.instance";    // on the client
constexpr const char* kApplicationId = "org.nodered.audio-tap";    // application.id

// Every wait on the server has a deadline, so a wedged server (stopped, or deadlocked) costs the
// caller this long at most instead of freezing it.
constexpr pa_usec_t kServerDeadlineUsec = 3 * PA_USEC_PER_SEC;

// What this backend reads of a sink.
struct SinkSummary {
  uint32_t index = PA_INVALID_INDEX;  // PA_INVALID_INDEX: no such sink
  std::string name;
  std::string description;
  uint32_t monitor = PA_INVALID_INDEX;  // the sink's monitor source
  uint32_t module = PA_INVALID_INDEX;   // the module that owns it
  uint8_t channels = 0;
  uint32_t rate = 0;                    // Hz
  std::string owner;                    // a muted capture's private sink: its owner token
  std::string owner_pid;                // with owner: the owning process, for messages
  std::string capture;                  // with owner: what that capture records
  std::string restore;                  // with owner: where its streams came from

  bool IsPrivate() const { return !owner.empty(); }
  static SinkSummary Of(const pa_sink_info* info);
};

class Connection {
 public:
  // Connects (within the deadline). `instance`: a token this client carries as
  // kInstanceProperty (a muted capture's owner). Throws EngineError ENOSERVER saying how to
  // start a server, ENOLIB without libpulse, EOS when libpulse fails.
  explicit Connection(const std::string& instance = "");
  ~Connection() { Close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  pa_context* context() const { return context_; }
  pa_threaded_mainloop* loop() const { return loop_; }
  void Lock() { pa_.pa_threaded_mainloop_lock(loop_); }
  void Unlock() { pa_.pa_threaded_mainloop_unlock(loop_); }
  void Wait() { pa_.pa_threaded_mainloop_wait(loop_); }
  void Signal() { pa_.pa_threaded_mainloop_signal(loop_, 0); }
  std::string LastError() const { return pa_.pa_strerror(pa_.pa_context_errno(context_)); }

  // With the lock held: waits (main-loop wait) until `done()` holds. Throws ENOSERVER when the
  // server does not get there within kServerDeadlineUsec.
  void WaitUntil(const std::function<bool()>& done, const char* what);

  // With the lock held: waits for `op` to finish (within the deadline). Throws if the server
  // went away or did not answer.
  void Await(pa_operation* op, const char* what);

  // With the lock held: lets the loop run for `usec` (a main-loop wait on a timer), to poll
  // for what the server does not announce.
  void Pause(pa_usec_t usec);

  // Called on the main-loop thread, with the lock held, when a connection that was ready
  // fails (the server went away or dropped this client). Not called after Close() begins.
  void OnLost(std::function<void(const std::string& why)> callback) { on_lost_ = std::move(callback); }

  // With the lock held: the instance tokens (kInstanceProperty) of every connected client.
  std::set<std::string> ClientInstances();

  // With the lock held: every sink-input.
  std::vector<SinkInput> SinkInputs();

  // With the lock held: every sink.
  std::vector<SinkSummary> Sinks();

  // With the lock held: a sink by name ("" = the default sink) or by index; index
  // PA_INVALID_INDEX when there is none.
  SinkSummary Sink(const std::string& sink_name);
  SinkSummary Sink(uint32_t index);

  // With the lock held: whether the server is PipeWire's pulse server (its server name says
  // "on PipeWire"), asked once per connection.
  bool OnPipeWire();

  // With the lock held: an input device (source) by name ("" = the default source) that must
  // exist: its index and channel count. Throws ENOAPP, saying how to list sources, when there
  // is no such source.
  struct SourceSummary {
    uint32_t index = PA_INVALID_INDEX;
    std::string name;
    uint8_t channels = 0;
  };
  SourceSummary RequireSource(const std::string& source_name);

  // With the lock held: a sink by name ("" = the default sink) that must exist.
  // Throws ENOAPP, saying how to list sinks, when there is no such sink.
  SinkSummary RequireSink(const std::string& sink_name);

  // Loop thread (or with the lock held): asks for a sink's info without waiting;
  // `then(context, info)` runs later on the loop thread with the answer, unless the sink is
  // gone by then. `then` checks itself whether its owner still wants the answer.
  template <typename Then>
  void QuerySink(uint32_t sink_index, Then then) {
    struct Pending {
      Then then;
    };
    auto* pending = new Pending{std::move(then)};
    pa_operation* op = pa_.pa_context_get_sink_info_by_index(
        context_, sink_index,
        [](pa_context* context, const pa_sink_info* info, int eol, void* user) {
          auto* p = static_cast<Pending*>(user);
          if (info) p->then(context, *info);
          if (eol) delete p;
        },
        pending);
    if (op) {
      pa_.pa_operation_unref(op);
    } else {
      delete pending;
    }
  }

 private:
  static void OnContextState(pa_context* context, void* user);
  static EngineError NoServer(const std::string& why);
  void Close();

  const PulseApi& pa_;
  pa_threaded_mainloop* loop_ = nullptr;
  pa_context* context_ = nullptr;
  bool ready_ = false;
  // With the lock held: the server's name and its default sink's ("" when it has none).
  struct ServerNames {
    std::string server;
    std::string default_sink;
  };
  ServerNames ServerInfo();

  std::function<void(const std::string&)> on_lost_;
  int on_pipewire_ = -1;  // OnPipeWire's answer; -1: not asked yet
};

// Holds a connection's main-loop lock for a scope.
class LoopLock {
 public:
  explicit LoopLock(Connection& connection) : connection_(connection) { connection_.Lock(); }
  ~LoopLock() { connection_.Unlock(); }
  LoopLock(const LoopLock&) = delete;
  LoopLock& operator=(const LoopLock&) = delete;

 private:
  Connection& connection_;
};

// An operation callback that wakes the waiter; `user` is the Connection.
void OperationDone(pa_context*, int, void* user);

}  // namespace pulse
}  // namespace audiotap

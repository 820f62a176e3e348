// The server's stored stream routing: PulseAudio's module-stream-restore (reached through the
// ext-stream-restore protocol extension) saves a stream moved by a client as that app's
// preferred device, and every recording client's stream as an entry of its own. A muted
// capture moves the app's streams into its private sink and back, so without this the app
// would stay pinned to the sink it was moved back to, and each capture would leave an entry.
//
// A snapshot taken before the first move is put back at stop: for each moved app, the
// device it had stored (or none); the capture's own source-output entry is removed if it did
// not exist before. Volumes and mutes are left as they are now (the user may have changed
// them during the capture). On a server without the extension (PulseAudio without
// module-stream-restore) there is nothing stored and nothing to do.
//
// pipewire-pulse answers the extension, but WirePlumber keeps its own state and ignores
// device changes made through it: stream_targets.h puts that state back on PipeWire.
#pragma once

#include <map>
#include <set>
#include <string>

#include "backends/linux/connection.h"

namespace audiotap {
namespace pulse {

// module-stream-restore's key of a stream (its "stream group"): the
// module-stream-restore.id property if set, else <prefix>-by-media-role:<role>,
// -by-application-id:, -by-application-name:, -by-media-name:, the first property present;
// "" when none is. `prefix` is "sink-input" or "source-output".
std::string StreamRestoreKey(const pa_proplist* properties, const char* prefix);

// The key of this package's own capture streams (application.id org.nodered.audio-tap).
std::string OwnCaptureKey();

class StreamRestore {
 public:
  // With the lock held: reads every stored entry. Never throws: a server without the
  // extension, or one that does not answer, leaves the snapshot empty and Restore a no-op.
  void Snapshot(Connection& c);

  // With the lock held, after the streams are back: for each key of `moved`, writes the device
  // stored at the snapshot (none if it had none) and keeps the entry's volume and mute; the
  // entry of `own` is deleted if the snapshot had none. Never throws.
  void Restore(Connection& c, const std::set<std::string>& moved, const std::string& own);

 private:
  struct Entry {
    std::string device;  // "" = none stored
  };
  bool available_ = false;
  std::map<std::string, Entry> before_;
};

}  // namespace pulse
}  // namespace audiotap

#include "backends/linux/stream_restore.h"

#include <vector>

#include "backends/linux/pulse_api.h"

namespace audiotap {
namespace pulse {
namespace {

constexpr const char* kIdentificationProperty = "module-stream-restore.id";

// A read entry, copied out of the callback (its strings live only there).
struct StoredEntry {
  std::string name;
  pa_channel_map channel_map;
  pa_cvolume volume;
  std::string device;
  int mute;
};

struct ReadContext {
  Connection* connection;
  std::vector<StoredEntry> entries;
  bool ok = false;
};

// With the lock held: every entry, or false when the server has no stream-restore.
bool ReadAll(Connection& c, std::vector<StoredEntry>& out) {
  const PulseApi& pa = Pulse();
  ReadContext ctx{&c, {}, false};
  pa_operation* op = pa.pa_ext_stream_restore_read(
      c.context(),
      [](pa_context*, const pa_ext_stream_restore_info* info, int eol, void* user) {
        auto* ctx = static_cast<ReadContext*>(user);
        if (eol < 0) {
          ctx->ok = false;  // no such extension (module-stream-restore not loaded)
        } else if (eol > 0) {
          ctx->ok = true;
        } else if (info && info->name) {
          ctx->entries.push_back(StoredEntry{info->name, info->channel_map, info->volume,
                                             info->device ? info->device : "", info->mute});
        }
        ctx->connection->Signal();
      },
      &ctx);
  if (!op) return false;
  c.Await(op, "reading the stored stream routing");
  if (!ctx.ok) return false;
  out = std::move(ctx.entries);
  return true;
}

}  // namespace

std::string StreamRestoreKey(const pa_proplist* properties, const char* prefix) {
  const PulseApi& pa = Pulse();
  if (const char* id = pa.pa_proplist_gets(properties, kIdentificationProperty)) return id;
  const std::pair<const char*, const char*> rules[] = {
      {PA_PROP_MEDIA_ROLE, "-by-media-role:"},
      {PA_PROP_APPLICATION_ID, "-by-application-id:"},
      {PA_PROP_APPLICATION_NAME, "-by-application-name:"},
      {PA_PROP_MEDIA_NAME, "-by-media-name:"},
  };
  for (const auto& [property, infix] : rules) {
    if (const char* value = pa.pa_proplist_gets(properties, property)) {
      return std::string(prefix) + infix + value;
    }
  }
  return "";
}

std::string OwnCaptureKey() {
  return std::string("source-output-by-application-id:") + kApplicationId;
}

void StreamRestore::Snapshot(Connection& c) {
  try {
    std::vector<StoredEntry> entries;
    available_ = ReadAll(c, entries);
    for (const StoredEntry& entry : entries) before_[entry.name] = Entry{entry.device};
  } catch (const EngineError&) {
    available_ = false;
  }
}

void StreamRestore::Restore(Connection& c, const std::set<std::string>& moved,
                            const std::string& own) {
  if (!available_) return;
  const PulseApi& pa = Pulse();
  try {
    std::vector<StoredEntry> now;
    if (!ReadAll(c, now)) return;
    std::vector<pa_ext_stream_restore_info> writes;
    std::vector<const char*> deletes;
    for (const StoredEntry& entry : now) {
      if (moved.count(entry.name)) {
        auto before = before_.find(entry.name);
        const std::string device = before == before_.end() ? "" : before->second.device;
        if (device == entry.device) continue;
        pa_ext_stream_restore_info info{};
        info.name = entry.name.c_str();
        info.channel_map = entry.channel_map;
        info.volume = entry.volume;
        // Points into before_, which outlives the write (`device` is a copy).
        info.device = device.empty()
                          ? nullptr
                          : before->second.device.c_str();
        info.mute = entry.mute;
        writes.push_back(info);
      } else if (entry.name == own && !before_.count(own)) {
        deletes.push_back(entry.name.c_str());
      }
    }
    if (!writes.empty()) {
      c.Await(pa.pa_ext_stream_restore_write(c.context(), PA_UPDATE_REPLACE, writes.data(),
                                             static_cast<unsigned>(writes.size()),
                                             0,  // stored only: the streams stay where they are
                                             OperationDone, &c),
              "putting back the stored stream routing");
    }
    if (!deletes.empty()) {
      deletes.push_back(nullptr);
      c.Await(pa.pa_ext_stream_restore_delete(c.context(), deletes.data(), OperationDone, &c),
              "removing the capture's stored stream entry");
    }
  } catch (const EngineError&) {
    // The server went away or did not answer: there is nothing more to undo.
  }
}

}  // namespace pulse
}  // namespace audiotap

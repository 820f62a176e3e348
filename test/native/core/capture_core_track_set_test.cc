// Capture core unit tests: a multitrack capture's set of tracks (native/core/track_set.{h,cc}),
// the part of a multitrack capture every OS shares: tracks opened in order and stopped in
// reverse, none left open when one fails, the end when every app has exited, one server
// event for all tracks.
#include <memory>
#include <string>
#include <vector>

#include "capture_core_harness.h"
#include "core/track_set.h"

namespace cctest {
namespace {

// A backend's capture of one track: says when it stops.
class FakeTrack : public CaptureSession {
 public:
  FakeTrack(uint32_t track, std::vector<std::string>* log) : track_(track), log_(log) {}
  ~FakeTrack() override { Stop(); }
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    log_->push_back("stop " + std::to_string(track_));
  }

 private:
  uint32_t track_;
  std::vector<std::string>* log_;
  bool stopped_ = false;
};

class ServerSink : public FakeSink {
 public:
  void OnServer(bool back, uint64_t) override { events.push_back(back ? "back" : "lost"); }
  std::vector<std::string> events;
};

CaptureOptions ThreeTracks() {
  CaptureOptions options = Options(SampleEncoding::kS16LE);
  options.tracks = 3;
  Target app;
  app.kind = TargetKind::kApp;
  Target mix;
  mix.kind = TargetKind::kSystem;
  mix.device = "speakers";
  Target input;
  input.kind = TargetKind::kInput;
  options.track_targets = {app, mix, input};
  return options;
}

void TestOpensEachTrackWithItsTarget() {
  ServerSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  std::vector<std::string> log;
  std::vector<CaptureOptions> seen;
  auto set = StartTrackSet(ThreeTracks(), &core,
                           [&](const CaptureOptions& one, uint32_t track, TrackHost* host) {
                             EXPECT(host != nullptr);
                             seen.push_back(one);
                             log.push_back("open " + std::to_string(track));
                             return std::make_unique<FakeTrack>(track, &log);
                           });
  EXPECT_EQ(seen.size(), size_t{3});
  if (seen.size() == 3) {
    EXPECT(seen[0].target.kind == TargetKind::kApp);
    EXPECT(seen[1].target.kind == TargetKind::kSystem);
    EXPECT(seen[2].target.kind == TargetKind::kInput);
    EXPECT_EQ(seen[1].device, std::string("speakers"));  // a named device's mix records it
    EXPECT_EQ(seen[0].device, std::string(""));
    for (const CaptureOptions& one : seen) {
      EXPECT(one.track_targets.empty());
      EXPECT_EQ(one.tracks, uint32_t{1});
    }
  }
  set->Stop();
  const std::vector<std::string> want = {"open 0", "open 1", "open 2", "stop 2", "stop 1", "stop 0"};
  EXPECT(log == want);
}

void TestFailingTrackStopsTheOpenedOnes() {
  ServerSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  std::vector<std::string> log;
  bool threw = false;
  try {
    StartTrackSet(ThreeTracks(), &core, [&](const CaptureOptions&, uint32_t track, TrackHost*)
                                            -> std::unique_ptr<CaptureSession> {
      if (track == 2) throw EngineError("ENOAPP", "no such input device");
      log.push_back("open " + std::to_string(track));
      return std::make_unique<FakeTrack>(track, &log);
    });
  } catch (const EngineError& error) {
    threw = error.code == "ENOAPP";
  }
  EXPECT(threw);
  const std::vector<std::string> want = {"open 0", "open 1", "stop 1", "stop 0"};
  EXPECT(log == want);
}

void TestMuteIsRefused() {
  ServerSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  CaptureOptions options = ThreeTracks();
  options.mute = true;
  int opened = 0;
  std::string code;
  try {
    StartTrackSet(options, &core, [&](const CaptureOptions&, uint32_t track, TrackHost*) {
      ++opened;
      return std::make_unique<FakeTrack>(track, nullptr);
    });
  } catch (const EngineError& error) {
    code = error.code;
  }
  EXPECT_EQ(code, std::string("EUNSUPPORTED"));
  EXPECT_EQ(opened, 0);
}

void TestEndsWhenEveryAppExited() {
  ServerSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  std::vector<std::string> log;
  std::vector<TrackHost*> hosts;
  auto set = StartTrackSet(ThreeTracks(), &core, [&](const CaptureOptions&, uint32_t track, TrackHost* host) {
    hosts.push_back(host);
    return std::make_unique<FakeTrack>(track, &log);
  });
  core.Start();
  hosts[0]->TrackExited(0);
  hosts[1]->TrackExited(1);
  EXPECT_EQ(sink.ends(), 0);  // one track still records
  hosts[2]->TrackExited(2);
  core.Join();
  EXPECT_EQ(sink.ends(), 1);
  EXPECT(sink.reason() == EndReason::kTargetExited);
  set->Stop();
}

void TestServerLossSaidOnceForAllTracks() {
  ServerSink sink;
  CaptureCore core(Options(SampleEncoding::kS16LE), &sink);
  std::vector<std::string> log;
  TrackHost* host = nullptr;
  auto set = StartTrackSet(ThreeTracks(), &core, [&](const CaptureOptions&, uint32_t track, TrackHost* h) {
    host = h;
    return std::make_unique<FakeTrack>(track, &log);
  });
  for (uint32_t track : {0u, 1u, 2u}) host->TrackServer(track, false);
  host->TrackServer(1, true);
  host->TrackServer(0, true);
  EXPECT(sink.events == std::vector<std::string>{"lost"});
  host->TrackServer(2, true);
  host->TrackServer(2, true);  // a stray repeat changes nothing
  const std::vector<std::string> want = {"lost", "back"};
  EXPECT(sink.events == want);
  set->Stop();
}

}  // namespace

std::vector<check::Test> TrackSetTests() {
  return {
      {"TrackSetOpensEachTrackWithItsTarget", TestOpensEachTrackWithItsTarget},
      {"TrackSetFailingTrackStopsTheOpenedOnes", TestFailingTrackStopsTheOpenedOnes},
      {"TrackSetMuteIsRefused", TestMuteIsRefused},
      {"TrackSetEndsWhenEveryAppExited", TestEndsWhenEveryAppExited},
      {"TrackSetServerLossSaidOnceForAllTracks", TestServerLossSaidOnceForAllTracks},
  };
}

}  // namespace cctest

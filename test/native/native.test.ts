// Runs the C++ unit tests of test/native/ through scripts/test-native.sh, on every OS with bash
// and a C++ compiler with the sanitizers: tap_logic_test (the macOS backend's platform-neutral
// logic), app_list_test (the app list of every backend), app_follow_test (the follow rules of an
// app capture), frame_stamp_test (a stream's latest timestamp across threads), thread_wake_test (the
// macOS sessions' control thread, the capture core's drain wake), audibility_test (a Linux capture silent for a known cause), capture_core_test (mixing, timeline, stop flush, drops), channel_groups_test (eq and soft clip
// over N channels) and spsc_ring_test, all under
// AddressSanitizer + UndefinedBehaviorSanitizer, then the ring's, the frame stamp's, the thread wake's and the capture
// core's threaded tests under ThreadSanitizer. Each binary must have run, passed, and run at least the tests
// and checks below: a build that silently ran fewer (a filter gone wrong, a crash half-way)
// fails here instead of passing.
import { strict as assert } from 'assert';
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

interface Expected {
  build: 'asan' | 'tsan';
  binary: string;
  minTests: number;
  minChecks: number;
}

// Minimums a little under today's counts (tap_logic 19/145, ring 7/43, app list 8/43, capture core 22/222
// and its 4 Threaded* tests, 27 checks, run 5 times under TSan): adding tests never breaks
// this; losing some does.
const expected: Expected[] = [
  { build: 'asan', binary: 'tap_logic_test', minTests: 21, minChecks: 165 },
  { build: 'asan', binary: 'spsc_ring_test', minTests: 7, minChecks: 40 },
  { build: 'asan', binary: 'frame_stamp_test', minTests: 3, minChecks: 15 },
  { build: 'asan', binary: 'capture_core_test', minTests: 45, minChecks: 340 },
  { build: 'asan', binary: 'app_list_test', minTests: 8, minChecks: 40 },
  { build: 'asan', binary: 'app_follow_test', minTests: 7, minChecks: 35 },
  { build: 'asan', binary: 'audibility_test', minTests: 6, minChecks: 24 },
  { build: 'asan', binary: 'channel_groups_test', minTests: 8, minChecks: 60 },
  { build: 'tsan', binary: 'spsc_ring_test', minTests: 7, minChecks: 40 },
  { build: 'tsan', binary: 'frame_stamp_test', minTests: 3, minChecks: 15 },
  { build: 'asan', binary: 'thread_wake_test', minTests: 6, minChecks: 15 },
  { build: 'tsan', binary: 'thread_wake_test', minTests: 6, minChecks: 15 },
  { build: 'tsan', binary: 'capture_core_test', minTests: 20, minChecks: 130 },
];

describe('native unit tests (C++, under ASan+UBSan and TSan)', function () {
  // Five sanitizer builds on a 2-core machine: about 35 s idle, much more when loaded.
  this.timeout(600000);

  let run: SpawnSyncReturns<string> | undefined;
  let output = '';

  before(function () {
    if (process.platform === 'win32') this.skip();  // no bash or sanitizer runtimes
    run = spawnSync('bash', [path.join(root, 'scripts', 'test-native.sh')], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    output = `${run.stdout}\n${run.stderr}`;
  });

  it('test-native.sh exits 0 with no failed test', function () {
    assert.ok(run, 'the script did not run');
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.status, 0, output);
    assert.doesNotMatch(run.stdout, /^FAIL /m, output);
  });

  for (const want of expected) {
    it(`${want.build}: ${want.binary} ran and passed`, function () {
      assert.ok(run, 'the script did not run');
      const line = new RegExp(
        `^test-native: ${want.build} ${want.binary}: (\\d+) tests, (\\d+) checks, (\\d+) failed \\(exit (\\d+)\\)$`,
        'm',
      ).exec(run.stdout);
      assert.ok(line, `no summary line for ${want.build} ${want.binary} in:\n${output}`);
      const [tests, checks, failed, exit] = line.slice(1).map(Number);
      assert.equal(failed, 0, output);
      assert.equal(exit, 0, output);
      assert.ok(tests >= want.minTests, `only ${tests} tests ran (expected >= ${want.minTests})`);
      assert.ok(checks >= want.minChecks, `only ${checks} checks ran (expected >= ${want.minChecks})`);
    });
  }
});

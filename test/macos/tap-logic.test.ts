// Runs the C++ unit tests of the macOS backend's platform-neutral logic (native/tap_logic.cc,
// test/macos/tap_logic_test.cc) through scripts/test-native.sh, on every OS with bash and a
// C++ compiler.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

describe('macOS tap logic (C++ unit tests)', function () {
  this.timeout(120000);

  it('builds and passes every check', function () {
    if (process.platform === 'win32') this.skip();
    const run = spawnSync('bash', [path.join(root, 'scripts', 'test-native.sh')], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(run.error, undefined, String(run.error));
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, output);
    const summary = /(\d+) tests, (\d+) checks, (\d+) failed/.exec(run.stdout);
    assert.ok(summary, `no summary line in:\n${output}`);
    assert.ok(Number(summary[1]) >= 17, `only ${summary[1]} tests ran`);
    assert.ok(Number(summary[2]) >= 100, `only ${summary[2]} checks ran`);
    assert.equal(Number(summary[3]), 0, output);
    assert.doesNotMatch(run.stdout, /^FAIL /m, output);
  });
});

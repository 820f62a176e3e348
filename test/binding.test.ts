/** src/binding.ts: the one module that loads the native addon. */
import assert from 'assert';
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { loadBinding } from '../src/binding';

describe('binding', function () {
  it('loads the addon once and gives the same object every time, with the engine it declares', function () {
    const binding = loadBinding();
    assert.strictEqual(loadBinding(), binding);
    for (const name of ['listApps', 'listDevices', 'listTaps', 'setAppVolume', 'backend', 'Capture', 'Playback'] as const) {
      assert.strictEqual(typeof binding[name], 'function', `${name} is a function`);
    }
    assert.strictEqual(binding.backend(), { linux: 'pulse', darwin: 'coreaudio', win32: 'wasapi' }[process.platform as string]);
  });

  it('without a build: ENOADDON with how to build it, and the same error on every later call', function () {
    // A copy of the compiled module in a package root that holds no build/ and no prebuilds/.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-nobuild-'));
    try {
      fs.mkdirSync(path.join(root, 'dist', 'src'), { recursive: true });
      fs.copyFileSync(path.join(__dirname, '..', 'src', 'binding.js'), path.join(root, 'dist', 'src', 'binding.js'));
      const script = `
        const { loadBinding } = require(${JSON.stringify(path.join(root, 'dist', 'src', 'binding.js'))});
        const errors = [];
        for (let i = 0; i < 2; i++) { try { loadBinding(); } catch (e) { errors.push(e); } }
        console.log(JSON.stringify({ n: errors.length, same: errors[0] === errors[1], code: errors[0].code, message: errors[0].message }));`;
      const child = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: path.join(__dirname, '..', '..', 'node_modules') },
      });
      assert.strictEqual(child.status, 0, child.stderr);
      const result = JSON.parse(child.stdout);
      assert.strictEqual(result.n, 2);
      assert.ok(result.same, 'the error is kept, not retried');
      assert.strictEqual(result.code, 'ENOADDON');
      assert.match(result.message, /native addon could not be loaded \(No native build was found/);
      assert.match(result.message, /npm rebuild node-red-contrib-audio-tap/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

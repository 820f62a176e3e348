// Loads the Windows addon (cross-built and run under wine, or built with MSVC on a Windows
// runner) and checks that every entry point answers with a result or a clear, coded error,
// never a crash or a hang. Wine has no audio sessions or process loopback and CI runners
// have no sound card, so most calls may fail, but only with the engine's error codes.
// Usage: node addon-smoke.js <path to audiotap.node>  (scripts/check-windows-wine.sh, and
// .github/workflows/windows.yml)
'use strict';
const assert = require('assert');

const CODES = new Set(['ENOLIB', 'ENOSERVER', 'ENOAPP', 'EAMBIGUOUS', 'EFORMAT',
  'EUNSUPPORTED', 'EPERMISSION', 'EOS']);
const addon = require(process.argv[2]);
const results = [];

function checkError(what, error) {
  assert(error instanceof Error, `${what}: rejected with a non-Error: ${error}`);
  assert(CODES.has(error.code), `${what}: unexpected error code ${error.code}: ${error.message}`);
  assert(typeof error.message === 'string' && error.message.length >= 15,
    `${what}: error message too short: "${error.message}"`);
}

async function expectOutcome(what, promise, { mustFailWith, failsOnlyWith } = {}) {
  try {
    const value = await promise;
    if (mustFailWith || failsOnlyWith) {
      assert.fail(`${what}: expected ${mustFailWith || failsOnlyWith.join("/")}, but it succeeded`);
    }
    results.push({ what, ok: true });
    return value;
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    checkError(what, error);
    if (mustFailWith) {
      assert.strictEqual(error.code, mustFailWith, `${what}: ${error.code}: ${error.message}`);
    }
    if (failsOnlyWith) {
      assert(failsOnlyWith.includes(error.code), `${what}: ${error.code}: ${error.message}`);
    }
    results.push({ what, code: error.code, message: error.message });
    return undefined;
  }
}

// Starts a capture; when it starts (a system where it works), stops it after a moment and
// waits for its end event.
async function capture(what, options, expectation) {
  const events = [];
  let ended;
  const endedPromise = new Promise((resolve) => { ended = resolve; });
  const c = new addon.Capture(options, (type, payload) => {
    events.push(type);
    if (type === 'end') ended(payload);
  });
  const started = await expectOutcome(what, c.start().then(() => true), expectation);
  if (started) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    c.stop();
    const end = await Promise.race([endedPromise,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000))]);
    assert.notStrictEqual(end, 'timeout', `${what}: no end event within 5 s after stop()`);
    results[results.length - 1].events = events.join(',');
  }
}

(async () => {
  assert.strictEqual(addon.backend(), 'wasapi');
  const apps = await expectOutcome('listApps', addon.listApps());
  if (apps) {
    assert(Array.isArray(apps), 'listApps: expected an array');
    for (const app of apps) {
      assert(Number.isInteger(app.pid) && typeof app.name === 'string', 'listApps: bad entry');
    }
    results[results.length - 1].apps = apps.length;
  }
  await expectOutcome('setAppVolume', addon.setAppVolume(process.pid, 0.5));
  await capture('capture app by PID', { target: { kind: 'apps', apps: [process.pid] } });
  // Fails before or at name resolution (EUNSUPPORTED: no process loopback on this build).
  await capture('capture app by name', { target: { kind: 'apps', apps: ['no-such-app.exe'] } },
    { failsOnlyWith: ['ENOAPP', 'EUNSUPPORTED', 'ENOSERVER'] });
  await capture('capture system minus one', { target: { kind: 'system', exclude: [process.pid] } });
  await capture('capture system mix', { target: { kind: 'system' }, encoding: 'f32le' });
  await capture('capture with mute', { target: { kind: 'apps', apps: [process.pid] }, mute: true },
    { mustFailWith: 'EUNSUPPORTED' });
  await capture('capture existing tap', { target: { kind: 'tap', tapUid: 'x' } },
    { mustFailWith: 'EUNSUPPORTED' });
  console.log(JSON.stringify({ node: process.version, windows: require('os').release(), results },
    null, 1));
  console.log('addon-smoke: OK');
})().catch((error) => {
  console.error('addon-smoke: FAILED:', error && error.stack ? error.stack : error);
  console.log(JSON.stringify({ results }, null, 1));
  process.exit(1);
});

// Loads the Windows addon (cross-built and run under wine, or built with MSVC on a Windows
// runner) and checks that every entry point answers with a result or a clear, coded error,
// never a crash or a hang. Wine has no audio sessions or process loopback and CI runners
// have no sound card, so most calls may fail, but only with the engine's error codes. With
// AUDIOTAP_SMOKE_OUTPUT_DEVICE set (an output device exists), audio-out must play.
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

async function expectOutcome(what, promise, { mustFailWith, failsOnlyWith, mustSucceed } = {}) {
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
    assert(!mustSucceed, `${what}: expected to succeed: ${error.code}: ${error.message}`);
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

// Starts a playback; when it starts (an output device exists), writes a few chunks, checks
// that the render thread pulls them, then stops it (twice: stop() is idempotent).
async function playback(what, options, expectation) {
  const p = new addon.Playback(options);
  const started = await expectOutcome(what, p.start().then(() => true), expectation);
  const bytesPerFrame = options.channels * (options.encoding === 'f32le' ? 4 : 2);
  if (started) {
    const chunkFrames = options.bufferFrames;
    const chunk = Buffer.alloc(chunkFrames * bytesPerFrame);
    let accepted = 0;
    for (let i = 0; i < 4; i++) accepted += p.write(chunk);
    assert(accepted > 0 && accepted <= 4 * chunkFrames, `${what}: write accepted ${accepted} frames`);
    // The jitter buffer (bufferFrames) is full, so the render thread must be playing it.
    const played = await waitFor(() => p.stats().playedFrames > 0, 3000);
    const stats = p.stats();
    assert(played, `${what}: no frame played within 3 s: ${JSON.stringify(stats)}`);
    assert(Number.isInteger(stats.outputLatencyFrames) && stats.outputLatencyFrames >= -1,
      `${what}: outputLatencyFrames ${stats.outputLatencyFrames}`);
    assert.strictEqual(stats.playedFrames + stats.bufferedFrames + stats.overrunFrames,
      4 * chunkFrames, `${what}: frames unaccounted for: ${JSON.stringify(stats)}`);
    p.stop();
    p.stop();
    const after = p.stats();
    assert.strictEqual(after.outputLatencyFrames, -1, `${what}: latency after stop()`);
    assert.strictEqual(p.write(chunk), 0, `${what}: write after stop() accepted frames`);
    results[results.length - 1].stats = stats;
  } else {
    // A playback that failed to start leaves nothing running; stop() is still safe.
    p.stop();
    assert.strictEqual(p.stats().outputLatencyFrames, -1);
  }
}

async function waitFor(condition, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
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
  await capture('capture app by PID', { target: { kind: 'app', apps: [process.pid] } });
  // Fails before or at name resolution (EUNSUPPORTED: no process loopback on this build).
  await capture('capture app by name', { target: { kind: 'app', apps: ['no-such-app.exe'] } },
    { failsOnlyWith: ['ENOAPP', 'EUNSUPPORTED', 'ENOSERVER'] });
  await capture('capture system minus one', { target: { kind: 'system', exclude: [process.pid] } });
  await capture('capture system mix', { target: { kind: 'system' }, encoding: 'f32le' });
  await capture('capture an input device', { target: { kind: 'input' } });
  await capture('capture an unknown input device', { target: { kind: 'input', device: 'no such microphone' } },
    { failsOnlyWith: ['ENOAPP', 'ENOSERVER'] });
  await capture('capture tracks (an app, the system mix)',
    { target: { kind: 'tracks', tracks: [{ kind: 'app', apps: [process.pid] }, { kind: 'system' }] } });
  await capture('capture tracks (two input devices)',
    { target: { kind: 'tracks', tracks: [{ kind: 'input' }, { kind: 'input' }] } });
  await capture('capture tracks with mute',
    { target: { kind: 'tracks', tracks: [{ kind: 'system' }, { kind: 'input' }] }, mute: true },
    { mustFailWith: 'EUNSUPPORTED' });
  await capture('capture with mute', { target: { kind: 'app', apps: [process.pid] }, mute: true },
    { mustFailWith: 'EUNSUPPORTED' });
  await capture('capture existing tap', { target: { kind: 'tap', tapUid: 'x' } },
    { mustFailWith: 'EUNSUPPORTED' });
  // Set (by scripts/check-windows-wine.sh) when an output device is known to exist: its name,
  // in another letter case. Then every playback must start and play.
  const outputDevice = process.env.AUDIOTAP_SMOKE_OUTPUT_DEVICE;
  const playable = outputDevice ? { mustSucceed: true } : undefined;
  const stereo = { sampleRate: 48000, channels: 2, encoding: 's16le', bufferFrames: 4800,
    capacityFrames: 19200 };
  await playback('playback s16le stereo 48 kHz', stereo, playable);
  await playback('playback f32le mono 44.1 kHz',
    { sampleRate: 44100, channels: 1, encoding: 'f32le', bufferFrames: 2205, capacityFrames: 8820 },
    playable);
  if (outputDevice) {
    await playback(`playback to "${outputDevice}" by name`, { ...stereo, device: outputDevice },
      playable);
  }
  await playback('playback to an unknown device', { ...stereo, device: 'no such output device' },
    { failsOnlyWith: ['ENOAPP', 'ENOSERVER'] });
  console.log(JSON.stringify({ node: process.version, windows: require('os').release(), results },
    null, 1));
  console.log('addon-smoke: OK');
})().catch((error) => {
  console.error('addon-smoke: FAILED:', error && error.stack ? error.stack : error);
  console.log(JSON.stringify({ results }, null, 1));
  process.exit(1);
});

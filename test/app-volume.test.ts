/**
 * app-volume in a Node-RED runtime against a real PulseAudio server: the level the app plays
 * at, measured on its sink's monitor.
 */
import assert from 'assert';
import { AudioChunk, Capture, CaptureEnd } from '../src/engine';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { useAudio } from './helpers/pulse';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const appVolume = require('../nodes/app-volume/app-volume.js');

helper.init(require.resolve('node-red'));

/** The 440 Hz level on the sink's monitor over 0.6 s, in dBFS (median of 100 ms windows). */
async function sinkLevel(): Promise<number> {
  const capture = new Capture({ target: { kind: 'system' } });
  const chunks: Buffer[] = [];
  let frames = 0;
  const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
  capture.on('chunk', (chunk: AudioChunk) => {
    chunks.push(chunk.data);
    frames += chunk.frames;
    if (frames >= 48000 * 1.0) capture.stop();
  });
  await capture.start();
  await ended;
  // Skip the first 400 ms: the server's buffers still hold audio rendered at the old volume.
  return db(medianToneAmplitude(channelSamples(Buffer.concat(chunks), 's16le', 2).subarray(19200), 440, 48000));
}

describe('app-volume', function () {
  this.timeout(30000);
  useAudio([{ name: 'tone-volume', freq: 440 }]);

  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  async function send(config: Record<string, unknown>, msg: Record<string, unknown>): Promise<{ ok?: Record<string, unknown>; error?: string }> {
    await helper.unload();
    await helper.load(appVolume, [
      { id: 'vol', type: 'app-volume', app: 'tone-volume', volume: '', unit: 'linear', mute: '', wires: [['out']], ...config },
      { id: 'out', type: 'helper' },
    ]);
    const node = helper.getNode('vol');
    return new Promise((resolve) => {
      helper.getNode('out').on('input', (m: { payload: Record<string, unknown> }) => resolve({ ok: m.payload }));
      node.on('call:error', (call: { args: unknown[] }) => resolve({ error: String(call.args[0]) }));
      node.receive(msg);
    });
  }

  it('changes the level the app plays at: linear gain, dB, mute and unmute', async function () {
    const full = await sinkLevel();
    assert.ok(Math.abs(full - db(0.5)) < 0.5, `full volume at ${full.toFixed(1)} dBFS`);

    assert.deepStrictEqual((await send({}, { payload: 0.5 })).ok, { app: 'tone-volume', volume: 0.5 });
    const half = await sinkLevel();
    assert.ok(Math.abs(half - full - db(0.5)) < 0.5, `gain 0.5 gave ${(half - full).toFixed(2)} dB`);

    await send({ unit: 'dB' }, { payload: -20 });
    const minus20 = await sinkLevel();
    assert.ok(Math.abs(minus20 - full + 20) < 0.5, `−20 dB gave ${(minus20 - full).toFixed(2)} dB`);

    await send({ mute: 'mute' }, { payload: 'go' });
    assert.ok((await sinkLevel()) < -100, 'muted: nothing on the sink');

    await send({}, { mute: false, payload: 1 });
    const back = await sinkLevel();
    assert.ok(Math.abs(back - full) < 0.5, `back at ${back.toFixed(1)} dBFS`);
  });

  it('an unknown app and out-of-range values are clear errors', async function () {
    assert.match((await send({ app: 'no-such-app' }, { payload: 0.5 })).error!, /no app with audio streams matches "no-such-app"/);
    assert.match((await send({}, { payload: 1.5 })).error!, /1\.5 is out of range; expected a linear gain from 0 to 1/);
    assert.match((await send({ unit: 'dB' }, { payload: 6 })).error!, /6 dB is out of range/);
    assert.match((await send({}, { payload: 'loud' })).error!, /nothing to set/);
    assert.match((await send({}, { mute: 'yes' })).error!, /msg\.mute: expected true or false/);
  });
});

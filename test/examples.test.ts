/**
 * The example flows: each imports into a Node-RED runtime with only core nodes and ours, has
 * a comment node that says how to use it, and (where it can run here) works.
 */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { readWav } from './helpers/wav';
import { AudioChunk, Capture, CaptureEnd } from '../src/engine';
import { sinkOfPlayer, useAudio, waitFor } from './helpers/pulse';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const core = path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core');
const coreNodes = [
  require(path.join(core, 'common', '20-inject.js')),
  require(path.join(core, 'common', '21-debug.js')),
  require(path.join(core, 'common', '90-comment.js')),
  require(path.join(core, 'function', '10-function.js')),
  require(path.join(core, 'function', '10-switch.js')),
  require(path.join(core, 'function', '15-change.js')),
  require(path.join(core, 'network', '10-mqtt.js')),
  require(path.join(core, 'network', '21-httpin.js')),
  require(path.join(core, 'storage', '10-file.js')),
];
const ours = Object.values(require('../../package.json')['node-red'].nodes as Record<string, string>).map((file) =>
  require(path.join(__dirname, '..', '..', file)),
);

helper.init(require.resolve('node-red'));

const examplesDir = path.join(__dirname, '..', '..', 'examples');
const examples = fs.readdirSync(examplesDir).filter((name) => name.endsWith('.json'));

describe('example flows', function () {
  this.timeout(30000);
  const audio = useAudio([{ name: 'demo-tone', freq: 440 }]);

  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  for (const name of examples) {
    it(`${name} loads with its comment, using only core nodes and ours`, async function () {
      const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, name), 'utf8')) as Array<Record<string, unknown>>;
      const comment = flow.find((node) => node.type === 'comment');
      assert.ok(comment && String(comment.info ?? '').length > 100, 'a comment node that says how to use it');
      const tab = { id: 'example-tab', type: 'tab', label: name };
      await helper.load([...coreNodes, ...ours], [tab, ...flow.map((node) => ({ ...node, z: tab.id }))]);
      for (const node of flow) {
        if (node.type === 'comment') continue;
        assert.ok(helper.getNode(node.id), `${node.type} ${String(node.id)} is running (no unknown type)`);
      }
    });
  }

  it('Per-app equaliser.json: listening mutes the app and plays it equalised on the output', async function () {
    const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, 'Per-app equaliser.json'), 'utf8')) as Array<Record<string, unknown>>;
    const tab = { id: 'example-tab', type: 'tab', label: 'Per-app equaliser' };
    await helper.load([...coreNodes, ...ours], [tab, ...flow.map((node) => ({ ...node, z: tab.id }))]);
    const [player] = audio.players;
    const listen = flow.find((node) => node.name === 'listen')!;
    const stop = flow.find((node) => node.name === 'stop')!;
    helper.getNode(listen.id).receive({});
    await waitFor(() => sinkOfPlayer(player).startsWith('audio_tap_mute_'), 5000, 'the app to be muted');

    // The default output now plays the equalised app (and nothing else plays there).
    const output = new Capture({ target: { kind: 'system' } });
    const chunks: Buffer[] = [];
    let frames = 0;
    const ended = new Promise<CaptureEnd>((resolve) => output.on('end', resolve));
    output.on('chunk', (chunk: AudioChunk) => {
      chunks.push(chunk.data);
      frames += chunk.frames;
      if (frames >= 48000 * 1.5) output.stop();
    });
    await output.start();
    await ended;
    const x = channelSamples(Buffer.concat(chunks), 's16le', 2).subarray(24000);
    const level = db(medianToneAmplitude(x, 440, 48000));
    // The app plays at −6 dBFS; the example's eq (preamp −4 dB, about −1 dB at 440 Hz) lowers it.
    assert.ok(level > -14 && level < -8, `the output carries the app at ${level.toFixed(1)} dBFS`);

    helper.getNode(stop.id).receive({});
    await waitFor(() => sinkOfPlayer(player) === audio.pulse.sink, 5000, 'the app to be back on its sink');
  });

  it('Record apps and a microphone as tracks.json: one multichannel WAV, the app on its own track', async function () {
    const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, 'Record apps and a microphone as tracks.json'), 'utf8')) as Array<Record<string, unknown>>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-example-tracks-'));
    try {
      const tab = { id: 'example-tab', type: 'tab', label: 'tracks' };
      const nodes = flow.map((node) => ({ ...node, z: tab.id, ...(node.type === 'wav-sink' ? { directory: dir } : {}) }));
      await helper.load([...coreNodes, ...ours], [tab, ...nodes]);
      const tap = flow.find((node) => node.type === 'tap-source')!;
      const sink = flow.find((node) => node.type === 'wav-sink')!;
      const written = new Promise<{ path: string; frames: number }>((resolve) =>
        helper.getNode(sink.id).on('call:send', (call: { args: Array<{ payload: { path: string; frames: number } }> }) => resolve(call.args[0].payload)),
      );
      helper.getNode(tap.id).receive({ payload: 'start', duration: 1 });
      const file = await written;
      const wav = await readWav(file.path);
      assert.strictEqual(wav.format.channels, 4, 'two stereo tracks: the app and the input');
      assert.strictEqual(wav.format.audioFormat, 0xfffe);
      assert.strictEqual(file.frames, 48000);
      const app = channelSamples(wav.data, 's16le', 4, 0).subarray(4800);
      assert.ok(medianToneAmplitude(app, 440, 48000) > 0.2, 'demo-tone on the first track');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

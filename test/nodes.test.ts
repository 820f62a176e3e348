/**
 * The nodes in a real Node-RED runtime (node-red-node-test-helper) against a real PulseAudio
 * server.
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { readWav } from './helpers/wav';
import { pactl, Player, playTone, sinkInputOfPlayer, sourceOutputs, useAudio, waitFor, waitForStream } from './helpers/pulse';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const tapSource = require('../nodes/tap-source/tap-source.js');
const wavSink = require('../nodes/wav-sink/wav-sink.js');
const listAppsNode = require('../nodes/list-apps/list-apps.js');

helper.init(require.resolve('node-red'));

function flow(dir: string, tap: Record<string, unknown>, sink: Record<string, unknown> = {}) {
  return [
    { id: 'tap', type: 'tap-source', targetType: 'app', app: 'tone-a', sampleRate: 48000, channels: 2, encoding: 's16le', chunkMs: 20, queueChunks: 50, duration: 0, wires: [['sink'], ['events']], ...tap },
    { id: 'sink', type: 'wav-sink', directory: dir, filename: '{app}-{recordingId}.wav', wires: [['closed']], ...sink },
    { id: 'events', type: 'helper' },
    { id: 'closed', type: 'helper' },
  ];
}

describe('nodes', function () {
  this.timeout(30000);
  const audio = useAudio([
    { name: 'tone-a', freq: 440 },
    { name: 'tone-b', freq: 1000 },
  ]);
  let a: Player;
  let b: Player;
  let dir: string;
  before(function () {
    [a, b] = audio.players;
  });

  beforeEach(function (done) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-wav-'));
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  it('tap-source → wav-sink records N seconds of one app into a WAV that parses back', async function () {
    await helper.load([tapSource, wavSink], flow(dir, { duration: 2 }));
    const closed = helper.getNode('closed');
    const events = helper.getNode('events');
    const lifecycle: Array<Record<string, unknown>> = [];
    events.on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
    const done = new Promise<{ payload: Record<string, number | string>; filename: string }>((resolve) => closed.on('input', resolve));
    helper.getNode('tap').receive({ payload: 'start' });
    const msg = await done;

    assert.ok(msg.filename.startsWith(dir + path.sep), msg.filename);
    const wav = await readWav(msg.filename);
    assert.strictEqual(wav.format.sampleRate, 48000);
    assert.strictEqual(wav.format.channels, 2);
    assert.strictEqual(wav.format.bitDepth, 16);
    const seconds = wav.data.length / 4 / 48000;
    assert.ok(Math.abs(seconds - 2) <= 0.02, `WAV holds ${seconds} s, asked 2 s (within one 20 ms chunk)`);
    assert.strictEqual(msg.payload.frames, wav.data.length / 4);
    assert.strictEqual(msg.payload.bytes, wav.data.length);
    assert.strictEqual(fs.statSync(msg.filename).size, wav.dataOffset + wav.data.length, 'header sizes finalized');
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    const la = medianToneAmplitude(x, 440, 48000);
    const lb = medianToneAmplitude(x, 1000, 48000);
    assert.ok(Math.abs(db(la, 0.5)) < 1, `440 Hz at ${db(la).toFixed(1)} dBFS`);
    assert.ok(db(lb, la) < -40, `the other app's tone only ${db(lb, la).toFixed(1)} dB down`);

    // sox and ffmpeg read it as what it is.
    const soxInfo = execFileSync('sox', ['--i', msg.filename], { encoding: 'utf8' });
    assert.match(soxInfo, /Sample Rate\s*:\s*48000/);
    assert.match(soxInfo, /Channels\s*:\s*2/);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', msg.filename], { encoding: 'utf8' }));
    assert.strictEqual(probe.streams[0].codec_name, 'pcm_s16le');
    assert.strictEqual(Number(probe.streams[0].duration_ts), wav.data.length / 4);

    const names = lifecycle.map((p) => p.event);
    assert.deepStrictEqual(names.filter((n) => n !== 'waiting'), ['started', 'stopped']);
    const stopped = lifecycle[lifecycle.length - 1];
    assert.strictEqual(stopped.reason, 'stopped');
    assert.strictEqual(stopped.droppedChunks, 0);
    assert.ok(Math.abs((stopped.seconds as number) - 2) < 0.02);
  });

  it('two apps stopped mid-stream: a valid WAV with both, header true to the data', async function () {
    // Two sources: the stop flush drains the one that is ahead chunk by chunk (it once wrote
    // a whole backlog into one chunk's buffers and overflowed the heap).
    await helper.load([tapSource, wavSink], flow(dir, { app: `tone-a, ${b.pid}` }));
    const lifecycle: Array<Record<string, unknown>> = [];
    helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
    const done = new Promise<{ filename: string; payload: { reason: string; frames: number } }>((resolve) => helper.getNode('closed').on('input', resolve));
    helper.getNode('tap').receive({ payload: 'start' });
    await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    helper.getNode('tap').receive({ payload: 'stop' });
    const msg = await done;
    assert.strictEqual(msg.payload.reason, 'stopped');
    const wav = await readWav(msg.filename);
    assert.strictEqual(fs.statSync(msg.filename).size, wav.dataOffset + wav.data.length, 'header sizes finalized');
    assert.strictEqual(msg.payload.frames, wav.data.length / 4);
    const stopped = lifecycle.find((p) => p.event === 'stopped')!;
    assert.strictEqual(stopped.frames, wav.data.length / 4, 'every frame of the timeline is in the file');
    assert.ok(wav.data.length / 4 / 48000 > 0.8, `${wav.data.length / 4 / 48000} s`);
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    const la = medianToneAmplitude(x, 440, 48000);
    const lb = medianToneAmplitude(x, 1000, 48000);
    assert.ok(Math.abs(db(la, 0.5)) < 1 && Math.abs(db(lb, 0.5)) < 1, `levels ${db(la).toFixed(1)} / ${db(lb).toFixed(1)} dBFS`);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', msg.filename], { encoding: 'utf8' }));
    assert.strictEqual(Number(probe.streams[0].duration_ts), wav.data.length / 4);
  });

  it('writes f32le mono files as IEEE float WAV', async function () {
    await helper.load([tapSource, wavSink], flow(dir, { duration: 1, channels: 1, encoding: 'f32le', sampleRate: 16000 }));
    const done = new Promise<{ filename: string }>((resolve) => helper.getNode('closed').on('input', resolve));
    helper.getNode('tap').receive({ payload: true });
    const msg = await done;
    const wav = await readWav(msg.filename);
    assert.deepStrictEqual([wav.format.audioFormat, wav.format.channels, wav.format.sampleRate, wav.format.bitDepth], [3, 1, 16000, 32]);
    const x = channelSamples(wav.data, 'f32le', 1).subarray(1600);
    assert.ok(Math.abs(db(medianToneAmplitude(x, 440, 16000), 0.5)) < 1);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', msg.filename], { encoding: 'utf8' }));
    assert.strictEqual(probe.streams[0].codec_name, 'pcm_f32le');
  });

  it('finalizes the file and reports target-exited when the app exits mid-recording', async function () {
    const short = playTone('tone-short', 440);
    await waitForStream(short);
    await helper.load([tapSource, wavSink], flow(dir, { app: String(short.pid) }));
    const lifecycle: Array<Record<string, unknown>> = [];
    helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
    const done = new Promise<{ filename: string; payload: { reason: string; frames: number } }>((resolve) => helper.getNode('closed').on('input', resolve));
    helper.getNode('tap').receive({ payload: 'start' });
    await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await short.stop();
    const msg = await done;
    assert.strictEqual(msg.payload.reason, 'target-exited');
    const wav = await readWav(msg.filename);
    assert.strictEqual(wav.data.length / 4, msg.payload.frames);
    assert.ok(msg.payload.frames > 48000 * 0.3, `${msg.payload.frames} frames kept`);
    assert.strictEqual(fs.statSync(msg.filename).size, wav.dataOffset + wav.data.length);
    assert.strictEqual(lifecycle[lifecycle.length - 1].reason, 'target-exited');
  });

  it('start on deploy arms a name that does not run yet: waiting, then it records the app once it plays', async function () {
    await helper.load([tapSource, wavSink], flow(dir, { app: 'late-player', startOnDeploy: true }));
    const lifecycle: Array<Record<string, unknown>> = [];
    helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
    await waitFor(() => lifecycle.some((p) => p.event === 'waiting'), 5000, 'the capture to wait');
    const player = playTone('late-player', 440);
    try {
      await waitFor(() => lifecycle.some((p) => p.event === 'started'), 8000, 'the recording to start');
    } finally {
      await player.stop();
    }
    assert.deepStrictEqual(lifecycle.map((p) => p.event).slice(0, 2), ['waiting', 'started']);
  });

  it('an app followed by name: target-gone and target-back on output 2, one file across the restart', async function () {
    let player = playTone('tone-again', 440);
    await waitForStream(player);
    try {
      await helper.load([tapSource, wavSink], flow(dir, { app: 'tone-again' }));
      const lifecycle: Array<Record<string, unknown>> = [];
      helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
      const done = new Promise<{ filename: string; payload: { reason: string; frames: number } }>((resolve) => helper.getNode('closed').on('input', resolve));
      helper.getNode('tap').receive({ payload: 'start' });
      await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
      await player.stop();
      await waitFor(() => lifecycle.some((p) => p.event === 'target-gone'), 5000, 'target-gone');
      player = playTone('tone-again', 440);
      await waitFor(() => lifecycle.some((p) => p.event === 'target-back'), 5000, 'target-back');
      const gone = lifecycle.find((p) => p.event === 'target-gone')!;
      const back = lifecycle.find((p) => p.event === 'target-back')!;
      for (const event of [gone, back]) {
        assert.strictEqual(event.recordingId, lifecycle[0].recordingId);
        assert.strictEqual(event.seconds, (event.position as number) / 48000);
      }
      assert.ok((back.position as number) >= (gone.position as number));
      helper.getNode('tap').receive({ payload: 'stop' });
      const msg = await done;
      assert.strictEqual(msg.payload.reason, 'stopped');
      const wav = await readWav(msg.filename);
      assert.strictEqual(wav.data.length / 4, msg.payload.frames);
      assert.deepStrictEqual(fs.readdirSync(dir), [path.basename(msg.filename)], 'one file');
    } finally {
      await player.stop();
    }
  });

  it("'Follow the app' unticked: an app named by name ends the recording when it exits; 'Its child processes too' unticked: a child's stream is not recorded", async function () {
    const player = playTone('tone-once', 440);
    await waitForStream(player);
    const parent = playTone('tone-kid', 2000, { parentShell: true });
    try {
      await waitFor(() => pactl('list', 'sink-inputs').includes('application.name = "tone-kid"'), 5000, "the child's stream");
      await helper.load([tapSource, wavSink], flow(dir, { app: `tone-once, ${parent.pid}`, follow: false, processTree: false }));
      const lifecycle: Array<Record<string, unknown>> = [];
      helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
      const done = new Promise<{ filename: string; payload: { reason: string; frames: number } }>((resolve) => helper.getNode('closed').on('input', resolve));
      helper.getNode('tap').receive({ payload: 'start' });
      await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await player.stop();
      await parent.stop();
      const msg = await done;
      assert.strictEqual(msg.payload.reason, 'target-exited');
      assert.ok(!lifecycle.some((p) => p.event === 'target-gone'), 'not followed');
      const wav = await readWav(msg.filename);
      const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
      const tone = medianToneAmplitude(x, 440, 48000);
      assert.ok(Math.abs(db(tone, 0.5)) < 1, `the app's 440 Hz at ${db(tone).toFixed(1)} dBFS, expected about −6 dBFS`);
      assert.ok(db(medianToneAmplitude(x, 2000, 48000), tone) < -40, "the shell's child is not recorded");
    } finally {
      await player.stop();
      await parent.stop();
    }
  });

  it('the app muted in the mixer: silent-capture on output 2 and in the status, silent-capture-end once unmuted', async function () {
    const player = playTone('tone-quiet', 440);
    try {
      await waitForStream(player);
      const index = sinkInputOfPlayer(player);
      await helper.load([tapSource, wavSink], flow(dir, { app: 'tone-quiet' }));
      const lifecycle: Array<Record<string, unknown>> = [];
      const statuses: string[] = [];
      helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
      helper.getNode('tap').on('call:status', (call: { args: Array<{ text?: string }> }) => statuses.push(String(call.args[0].text)));
      helper.getNode('tap').receive({ payload: 'start' });
      await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
      pactl('set-sink-input-mute', index, '1');
      try {
        await waitFor(() => lifecycle.some((p) => p.event === 'silent-capture'), 5000, 'silent-capture');
        await waitFor(() => statuses.some((s) => s === 'tap-source.status.silentMuted'), 3000, 'the status to say so').catch((e) => { throw new Error(e.message + JSON.stringify(statuses)); });
      } finally {
        pactl('set-sink-input-mute', index, '0');
      }
      await waitFor(() => lifecycle.some((p) => p.event === 'silent-capture-end'), 5000, 'silent-capture-end');
      const silent = lifecycle.find((p) => p.event === 'silent-capture')!;
      assert.strictEqual(silent.reason, 'muted');
      assert.strictEqual(silent.recordingId, lifecycle[0].recordingId);
      assert.match(String(silent.message), /muted in the mixer/);
      assert.strictEqual(silent.seconds, (silent.position as number) / 48000);
      helper.getNode('tap').receive({ payload: 'stop' });
      await waitFor(() => lifecycle.some((p) => p.event === 'stopped'), 5000, 'the stop');
    } finally {
      await player.stop();
    }
  });

  it('finalizes the file and closes the capture stream on redeploy while recording', async function () {
    await helper.load([tapSource, wavSink], flow(dir, {}));
    const lifecycle: Array<Record<string, unknown>> = [];
    helper.getNode('events').on('input', (msg: { payload: Record<string, unknown> }) => lifecycle.push(msg.payload));
    helper.getNode('tap').receive({ payload: 'start' });
    await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.strictEqual(sourceOutputs().length, 1);
    await helper.unload();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wav'));
    assert.strictEqual(files.length, 1);
    const file = path.join(dir, files[0]);
    const wav = await readWav(file);
    assert.ok(wav.data.length / 4 > 48000 * 0.5, 'the audio up to the redeploy is kept');
    assert.strictEqual(fs.statSync(file).size, wav.dataOffset + wav.data.length, 'header sizes finalized');
    assert.strictEqual(sourceOutputs().length, 0, 'no capture stream left on the server');
  });

  it('list-apps lists both players; the admin endpoint answers the same JSON', async function () {
    await helper.load(listAppsNode, [
      { id: 'list', type: 'list-apps', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const got = new Promise<{ payload: Array<{ pid: number; name: string }> }>((resolve) => helper.getNode('out').on('input', resolve));
    helper.getNode('list').receive({ payload: 'go' });
    const msg = await got;
    const pids = msg.payload.map((app) => app.pid);
    assert.ok(pids.includes(a.pid) && pids.includes(b.pid), JSON.stringify(msg.payload));
    const res = await helper.request().get('/audio-tap/apps').expect('Content-Type', /json/).expect(200);
    assert.deepStrictEqual(
      res.body.map((app: { pid: number }) => app.pid).sort(),
      pids.slice().sort(),
    );
  });

  describe('bad input', function () {
    async function errorOf(flowDef: unknown[], nodeId: string, msg: Record<string, unknown>, nodes: unknown[] = [tapSource, wavSink]): Promise<string> {
      await helper.load(nodes, flowDef);
      const node = helper.getNode(nodeId);
      const error = new Promise<string>((resolve) => node.on('call:error', (call: { args: unknown[] }) => resolve(String(call.args[0]))));
      node.receive(msg);
      return error;
    }

    it('an unknown app: a clear error on the node, no file', async function () {
      const text = await errorOf(flow(dir, { app: 'no-such-app' }), 'tap', { payload: 'start' });
      assert.match(text, /no running app is named "no-such-app"/);
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });

    it('start on deploy that fails: the error is reported with a msg (a catch node gets it, with its code)', async function () {
      await helper.load([tapSource, wavSink], flow(dir, { targetType: 'pid', app: '999999', startOnDeploy: true }));
      // Start on deploy runs on the next turn of the event loop: this listener is in time.
      const call = await new Promise<{ args: unknown[] }>((resolve) => helper.getNode('tap').on('call:error', resolve));
      const [error, msg] = call.args as [Error & { code?: string }, { payload?: unknown } | undefined];
      assert.match(error.message, /no running process has PID 999999/);
      assert.strictEqual(error.code, 'ENOAPP', 'Node-RED copies it to msg.error.code');
      assert.ok(msg && msg.payload === 'start', 'reported with the start msg, so that catch nodes see it');
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });

    it('an ambiguous name: an error that lists the candidates', async function () {
      const text = await errorOf(flow(dir, { app: 'pacat' }), 'tap', { payload: 'start' });
      assert.ok(text.includes(`PID ${a.pid}`) && text.includes(`PID ${b.pid}`), text);
    });

    it('an invalid format: an error naming the field', async function () {
      const text = await errorOf(flow(dir, { sampleRate: 12 }), 'tap', { payload: 'start' });
      assert.match(text, /sampleRate/);
    });

    it('a bad msg.duration, msg.mute and an unknown command are refused', async function () {
      const text = await errorOf(flow(dir, {}), 'tap', { payload: 'start', duration: -3 });
      assert.match(text, /msg\.duration/);
      const node = helper.getNode('tap');
      const second = new Promise<string>((resolve) => node.on('call:error', (call: { args: unknown[] }) => resolve(String(call.args[0]))));
      node.receive({ payload: 'record please' });
      assert.match(await second, /msg\.payload: expected "start", "stop"/);
      const third = new Promise<string>((resolve) => node.on('call:error', (call: { args: unknown[] }) => resolve(String(call.args[0]))));
      node.receive({ payload: 'start', mute: 'yes' });
      assert.match(await third, /msg\.mute: expected true or false/);
    });

    it('a non-Buffer payload into wav-sink: an error, no file', async function () {
      const text = await errorOf(flow(dir, {}), 'sink', { payload: 'hello', audio: { sampleRate: 48000, channels: 2, encoding: 's16le', recordingId: 'x', position: 0 } });
      assert.match(text, /msg\.payload: expected a Buffer/);
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });

    it('a file name escaping the directory: refused, nothing written outside', async function () {
      const outside = path.join(path.dirname(dir), `escaped-${path.basename(dir)}.wav`);
      const text = await errorOf(flow(dir, {}), 'sink', {
        payload: Buffer.alloc(400),
        filename: `../${path.basename(outside)}`,
        audio: { sampleRate: 48000, channels: 2, encoding: 's16le', recordingId: 'y', position: 0 },
      });
      assert.match(text, /outside the directory/);
      assert.ok(!fs.existsSync(outside));
      assert.deepStrictEqual(fs.readdirSync(dir), []);
    });

    it('a chunk whose format differs from the open file: refused, the file stays whole', async function () {
      await helper.load([tapSource, wavSink], flow(dir, {}));
      const sink = helper.getNode('sink');
      const errors: string[] = [];
      sink.on('call:error', (call: { args: unknown[] }) => errors.push(String(call.args[0])));
      const closed = new Promise<{ filename: string; payload: { frames: number } }>((resolve) => helper.getNode('closed').on('input', resolve));
      const audio = { sampleRate: 48000, channels: 2, encoding: 's16le', recordingId: 'z', position: 0 };
      sink.receive({ payload: Buffer.alloc(4 * 480), audio });
      sink.receive({ payload: Buffer.alloc(4 * 480), audio: { ...audio, sampleRate: 44100, position: 480 } });
      sink.receive({ payload: Buffer.alloc(3), audio: { ...audio, position: 480 } });
      sink.receive({ payload: Buffer.alloc(0), audio: { ...audio, position: 480, final: true } });
      const msg = await closed;
      assert.strictEqual(errors.length, 2);
      assert.match(errors[0], /differs from the open file/);
      assert.match(errors[1], /not a whole number of 4-byte frames/);
      assert.strictEqual(msg.payload.frames, 480);
      const wav = await readWav(msg.filename);
      assert.strictEqual(wav.data.length, 480 * 4);
      assert.strictEqual(fs.statSync(msg.filename).size, wav.dataOffset + 480 * 4, 'nothing of the refused chunks is on disk');
    });
  });
});

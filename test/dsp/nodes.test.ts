/** The eq and soft-clip nodes in a Node-RED runtime (node-red-node-test-helper). */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Band } from '../../src/dsp/cookbook';
import { Equalizer } from '../../src/dsp/equalizer';
import { SoftClipper } from '../../src/dsp/soft-clipper';
import { AudioFormat } from '../../src/format';
import { channel, f32, noise, s16 } from './signals';
import { nodeWithCatalog } from '../helpers/i18n';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const eqNode = nodeWithCatalog('eq');
const softClipNode = nodeWithCatalog('soft-clip');
const wavSink = require('../../nodes/wav-sink/wav-sink.js');

helper.init(require.resolve('node-red'));

const format: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 'f32le' };
const bands: Band[] = [
  { type: 'lowshelf', frequency: 120, gain: 5, slope: 1 },
  { type: 'peaking', frequency: 1000, gain: -4, q: 1.4 },
  { type: 'highshelf', frequency: 6000, gain: 3, slope: 1 },
];

function pcmMessage(payload: Buffer, recordingId: string, position: number, f: AudioFormat = format, extra: Record<string, unknown> = {}) {
  return {
    payload,
    topic: 'app',
    audio: { ...f, bitDepth: f.encoding === 's16le' ? 16 : 32, recordingId, position },
    format: 'raw',
    rate: f.sampleRate,
    bits: f.encoding === 's16le' ? 16 : 32,
    channels: f.channels,
    encoding: f.encoding === 's16le' ? 'signed-integer' : 'floating-point',
    ...extra,
  };
}

/** Splits PCM into 10 ms chunks. */
function split(pcm: Buffer, f: AudioFormat = format): Buffer[] {
  const step = (f.sampleRate / 100) * f.channels * (f.encoding === 's16le' ? 2 : 4);
  const out: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += step) out.push(Buffer.from(pcm.subarray(at, at + step)));
  return out;
}

interface Received {
  payload: Buffer;
  audio: { recordingId: string; position: number; encoding: string };
}

function collect(node: { on: (e: string, f: (m: Received) => void) => void }, count: number): Promise<Received[]> {
  const got: Received[] = [];
  return new Promise((resolve) =>
    node.on('input', (msg: Received) => {
      got.push(msg);
      if (got.length === count) resolve(got);
    }),
  );
}

/** Resolves with the error the node reports (done(err) → node.error). */
function nextError(node: { on: (e: string, f: (call: { args: unknown[] }) => void) => void }): Promise<string> {
  return new Promise((resolve) => node.on('call:error', (call) => resolve(String((call.args[0] as Error)?.message ?? call.args[0]))));
}

describe('eq and soft-clip nodes', function () {
  this.timeout(20000);

  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  const eqFlow = (config: Record<string, unknown> = {}) => [
    { id: 'eqn', type: 'eq', bands, preamp: -2, bypass: false, ramp: 20, wires: [['out']], ...config },
    { id: 'out', type: 'helper' },
  ];

  it('filters PCM messages like the Equalizer, keeping format and other fields', async () => {
    await helper.load(eqNode, eqFlow());
    const x = f32([noise(9600, 0.3, 1), noise(9600, 0.3, 2)]);
    const expected = new Equalizer(format, { bands, preamp: -2, bypass: false }).process(x);
    const chunks = split(x);
    const got = collect(helper.getNode('out'), chunks.length);
    chunks.forEach((c, i) => helper.getNode('eqn').receive(pcmMessage(c, 'rec-1', i * 480, format, { extra: 42 })));
    const out = await got;
    assert.ok(Buffer.concat(out.map((m) => m.payload)).equals(expected));
    assert.strictEqual((out[0] as unknown as { extra: number }).extra, 42);
    assert.strictEqual(out[0].audio.encoding, 'f32le');
    assert.strictEqual(out[3].audio.position, 3 * 480);
  });

  it('keeps filter memory per recording: interleaved recordings equal separate runs', async () => {
    await helper.load(eqNode, eqFlow());
    const a = f32([noise(4800, 0.3, 3), noise(4800, 0.3, 4)]);
    const b = f32([noise(4800, 0.3, 5), noise(4800, 0.3, 6)]);
    const expectA = new Equalizer(format, { bands, preamp: -2, bypass: false }).process(a);
    const expectB = new Equalizer(format, { bands, preamp: -2, bypass: false }).process(b);
    const ca = split(a), cb = split(b);
    const got = collect(helper.getNode('out'), ca.length + cb.length);
    for (let i = 0; i < ca.length; i++) {
      helper.getNode('eqn').receive(pcmMessage(ca[i], 'A', i * 480));
      helper.getNode('eqn').receive(pcmMessage(cb[i], 'B', i * 480));
    }
    const out = await got;
    const of = (id: string) => Buffer.concat(out.filter((m) => m.audio.recordingId === id).map((m) => m.payload));
    assert.ok(of('A').equals(expectA), 'recording A differs from a separate run');
    assert.ok(of('B').equals(expectB), 'recording B differs from a separate run');
  });

  it('a new recording id starts from silence', async () => {
    await helper.load(eqNode, eqFlow());
    const x = f32([noise(480, 0.3, 7), noise(480, 0.3, 8)]);
    const got = collect(helper.getNode('out'), 3);
    helper.getNode('eqn').receive(pcmMessage(Buffer.from(x), 'one', 0));
    helper.getNode('eqn').receive(pcmMessage(Buffer.from(x), 'one', 480));
    helper.getNode('eqn').receive(pcmMessage(Buffer.from(x), 'two', 0));
    const out = await got;
    assert.ok(!out[1].payload.equals(out[0].payload), 'second chunk of one recording has memory');
    assert.ok(out[2].payload.equals(out[0].payload), 'new recording carried old memory');
  });

  it('applies msg.bands / msg.preamp / msg.bypass / msg.preset live, without forwarding control-only messages', async () => {
    await helper.load(eqNode, eqFlow({ ramp: 0 }));
    const eq = helper.getNode('eqn');
    const x = f32([noise(480, 0.3, 9), noise(480, 0.3, 10)]);
    const got = collect(helper.getNode('out'), 3);
    eq.receive({ bypass: true });
    eq.receive(pcmMessage(Buffer.from(x), 'r', 0));
    eq.receive({ bypass: false, bands: [{ type: 'highpass', frequency: 500 }], preamp: 0 });
    eq.receive(pcmMessage(Buffer.from(x), 's', 0));
    eq.receive({ preset: 'speech-cleanup', payload: 1234 });
    eq.receive(pcmMessage(Buffer.from(x), 't', 0));
    const out = await got;
    assert.ok(out[0].payload.equals(x), 'bypass');
    assert.ok(out[1].payload.equals(new Equalizer(format, { bands: [{ type: 'highpass', frequency: 500 }], preamp: 0, bypass: false }).process(x)));
    const { PRESETS } = await import('../../src/dsp/presets');
    const preset = PRESETS['speech-cleanup'];
    assert.ok(out[2].payload.equals(new Equalizer(format, { bands: preset.bands, preamp: preset.preamp, bypass: false }).process(x)));
  });

  it('reports bad input and bad settings with the field named, and keeps working', async () => {
    await helper.load(eqNode, eqFlow());
    const eq = helper.getNode('eqn');
    // A running 48 kHz stream: bands must then stay below 24 kHz.
    const first = collect(helper.getNode('out'), 1);
    eq.receive(pcmMessage(Buffer.alloc(3840), 'running', 0));
    await first;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ payload: Buffer.alloc(8) }, /msg\.audio: missing/],
      [pcmMessage(Buffer.alloc(10), 'r', 0), /msg\.payload: 10 bytes is not a whole number of 8-byte frames/],
      [{ ...pcmMessage(Buffer.alloc(8), 'r', 0), audio: { sampleRate: 48000, channels: 2, encoding: 'f64le' } }, /encoding/],
      [{ ...pcmMessage(Buffer.alloc(8), 'r', 0), audio: { sampleRate: 48000, channels: 33, encoding: 'f32le' } }, /channels: expected 1 to 32/],
      [pcmMessage('text' as unknown as Buffer, 'r', 0), /msg\.payload: expected a Buffer/],
      [{ bands: [{ type: 'peaking', frequency: 1000, q: 0 }] }, /msg\.bands\[0\]\.q/],
      [{ bands: [{ type: 'peaking', frequency: 1000, q: -3 }] }, /msg\.bands\[0\]\.q/],
      [{ preamp: NaN }, /msg\.preamp/],
      [{ bands: [{ type: 'peaking', frequency: 30000, gain: 3 }] }, /frequency 30000 Hz is at or above the Nyquist/],
      [pcmMessage(Buffer.alloc(4), 'low', 0, { sampleRate: 8000, channels: 1, encoding: 'f32le' }), /bands\[2\]\.frequency 6000 Hz is at or above the Nyquist frequency \(4000 Hz\)/],
    ];
    for (const [msg, pattern] of cases) {
      const error = nextError(eq);
      eq.receive(msg);
      const text = await Promise.race([error, new Promise<string>((resolve) => setTimeout(() => resolve('no error for ' + JSON.stringify(msg).slice(0, 200)), 2000))]);
      assert.match(text, pattern);
    }
    const statuses: Array<{ fill?: string }> = [];
    eq.on('call:status', (call: { args: Array<{ fill?: string }> }) => statuses.push(call.args[0]));
    const warnings: unknown[] = [];
    eq.on('call:warn', (call: { args: unknown[] }) => warnings.push(call.args[0]));
    const got = collect(helper.getNode('out'), 2);
    eq.receive(pcmMessage(f32([[NaN, 0.5], [Infinity, -0.5]]), 'ok', 0));
    eq.receive(pcmMessage(f32([[NaN, 0.5], [Infinity, -0.5]]), 'ok', 2));
    const out = await got;
    for (const m of out) {
      const samples = new Float32Array(m.payload.buffer.slice(m.payload.byteOffset, m.payload.byteOffset + m.payload.length));
      assert.ok(samples.every((v) => Number.isFinite(v)));
    }
    assert.strictEqual(warnings.length, 1, 'NaN/Inf warned once per recording');
    assert.strictEqual(statuses[statuses.length - 1]?.fill, 'green', 'status back to normal after a good message');
  });

  it('reports a bad configuration at deploy and on every message', async () => {
    await helper.load(eqNode, eqFlow({ bands: [{ type: 'lowpass', frequency: 1000, q: 0 }] }));
    const eq = helper.getNode('eqn');
    const error = nextError(eq);
    eq.receive(pcmMessage(Buffer.alloc(8), 'r', 0));
    assert.match(await error, /bands\[0\]\.q/);
  });

  it('soft-clip: transparent below threshold, bounded, live settings, s16le', async () => {
    await helper.load(softClipNode, [
      { id: 'clip', type: 'soft-clip', gain: 0, threshold: -3, ceiling: -1, ramp: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const clip = helper.getNode('clip');
    const quiet = f32([noise(480, 0.5, 1), noise(480, 0.5, 2)]);
    const loud = f32([noise(480, 4, 3), noise(480, 4, 4)]);
    const mono16: AudioFormat = { sampleRate: 44100, channels: 1, encoding: 's16le' };
    const got = collect(helper.getNode('out'), 4);
    clip.receive(pcmMessage(Buffer.from(quiet), 'q', 0));
    clip.receive(pcmMessage(Buffer.from(loud), 'l', 0));
    clip.receive({ gain: -20 });
    clip.receive(pcmMessage(Buffer.from(loud), 'l', 480));
    clip.receive(pcmMessage(s16([noise(441, 1, 5)]), 's', 0, mono16));
    const out = await got;
    assert.ok(out[0].payload.equals(quiet));
    const ceiling = Math.pow(10, -1 / 20);
    const loudOut = new Float32Array(out[1].payload.buffer.slice(out[1].payload.byteOffset, out[1].payload.byteOffset + out[1].payload.length));
    assert.ok(loudOut.every((v) => Math.abs(v) <= ceiling));
    assert.ok(out[2].payload.equals(new SoftClipper(format, { gain: -20, threshold: -3, ceiling: -1 }).process(loud)));
    assert.strictEqual(out[3].payload.length, 882);
    for (let i = 0; i < 441; i++) assert.ok(Math.abs(out[3].payload.readInt16LE(i * 2)) <= Math.ceil(ceiling * 32767));

    const error = nextError(clip);
    clip.receive({ threshold: 0, ceiling: -6 });
    assert.match(await error, /msg\.ceiling .* above threshold/);
  });

  it('a multitrack message: every track filtered and clipped as it would be alone, the track map kept', async () => {
    await helper.load([eqNode, softClipNode], [
      { id: 'eqn', type: 'eq', bands, preamp: 6, bypass: false, ramp: 20, wires: [['clip']] },
      { id: 'clip', type: 'soft-clip', gain: 0, threshold: -12, ceiling: -6, ramp: 0, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    // Three mono tracks (an odd count: the native side pairs channels 0-1 and runs 2 alone),
    // then two stereo tracks; each track a noise of its own.
    for (const [perTrack, tracks] of [[1, 3], [2, 2]] as const) {
      const channels = perTrack * tracks;
      const multi: AudioFormat = { sampleRate: 48000, channels, encoding: 'f32le' };
      const one: AudioFormat = { sampleRate: 48000, channels: perTrack, encoding: 'f32le' };
      const signals = Array.from({ length: channels }, (_, c) => noise(4800, 0.6, 10 + c));
      const x = f32(signals);
      const map = Array.from({ length: tracks }, (_, t) => ({ index: t, name: `t${t}`, firstChannel: t * perTrack, channels: perTrack }));
      const chunks = split(x, multi);
      const got = collect(helper.getNode('out'), chunks.length);
      chunks.forEach((c, i) => {
        const msg = pcmMessage(c, `multi-${channels}`, i * 480, multi);
        helper.getNode('eqn').receive({ ...msg, audio: { ...msg.audio, tracks: map } });
      });
      const out = await got;
      const y = Buffer.concat(out.map((m) => m.payload));
      assert.deepStrictEqual((out[0].audio as unknown as { tracks: unknown }).tracks, map);
      for (let t = 0; t < tracks; t++) {
        const alone = f32(signals.slice(t * perTrack, (t + 1) * perTrack));
        const eq = new Equalizer(one, { bands, preamp: 6, bypass: false });
        const clip = new SoftClipper(one, { gain: 0, threshold: -12, ceiling: -6 });
        const want = split(alone, one).map((c) => clip.process(eq.process(c)));
        for (let c = 0; c < perTrack; c++) {
          const ch = t * perTrack + c;
          assert.deepStrictEqual(channel(y, multi, ch), channel(Buffer.concat(want), one, c), `track ${t} channel ${c} (of ${channels})`);
        }
      }
      // The curve did act: the loudest sample sits below the ceiling, above the threshold.
      const peak = Math.max(...Array.from({ length: channels }, (_, c) => Math.max(...channel(y, multi, c).map(Math.abs))));
      assert.ok(peak > Math.pow(10, -12 / 20) && peak < Math.pow(10, -6 / 20), `peak ${peak}`);
    }
  });

  it('eq → soft-clip → wav-sink writes the processed audio', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eq-wav-'));
    try {
      await helper.load([eqNode, softClipNode, wavSink], [
        { id: 'eqn', type: 'eq', bands, preamp: 6, bypass: false, wires: [['clip']] },
        { id: 'clip', type: 'soft-clip', gain: 0, threshold: -6, ceiling: -1, wires: [['sink']] },
        { id: 'sink', type: 'wav-sink', directory: dir, filename: 'out.wav', wires: [['closed']] },
        { id: 'closed', type: 'helper' },
      ]);
      const x = f32([noise(9600, 0.5, 11), noise(9600, 0.5, 12)]);
      const expected = new SoftClipper(format, { gain: 0, threshold: -6, ceiling: -1 }).process(
        new Equalizer(format, { bands, preamp: 6, bypass: false }).process(x),
      );
      const closed = new Promise<{ filename: string }>((resolve) => helper.getNode('closed').on('input', resolve));
      const chunks = split(x);
      chunks.forEach((c, i) => helper.getNode('eqn').receive(pcmMessage(c, 'w', i * 480)));
      helper.getNode('eqn').receive({ ...pcmMessage(Buffer.alloc(0), 'w', chunks.length * 480), audio: { ...format, bitDepth: 32, recordingId: 'w', position: 9600, final: true } });
      const msg = await closed;
      const data = fs.readFileSync(msg.filename);
      const body = data.subarray(data.length - expected.length);
      assert.ok(body.equals(expected), 'WAV data differs from eq → soft-clip');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the cookbook to the editor', async () => {
    await helper.load(eqNode, eqFlow());
    const request = helper.request();
    const res = await request.get('/audio-tap/eq/cookbook.js').expect(200);
    const sandbox: { window: Record<string, { cookbook: { magnitudeDb: Function; designBand: Function }; presets: { PRESETS: object } }> } = { window: {} };
    new Function('window', res.text)(sandbox.window);
    const { cookbook, presets } = sandbox.window.AudioTapEq;
    const db = cookbook.magnitudeDb(cookbook.designBand({ type: 'peaking', frequency: 1000, gain: 5, q: 1 }, 48000), 1000, 48000);
    assert.ok(Math.abs(db - 5) < 1e-9);
    assert.ok('graphic' in presets.PRESETS);
  });

  it('the example flow uses only known node types and wires eq → soft-clip → wav-sink', () => {
    const file = path.resolve(__dirname, '..', '..', '..', 'examples', 'Per-app EQ to WAV.json');
    const flow = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ id: string; type: string; wires?: string[][] }>;
    const byId = new Map(flow.map((n) => [n.id, n]));
    const known = new Set(['comment', 'inject', 'debug', 'tap-source', 'eq', 'soft-clip', 'wav-sink']);
    for (const n of flow) assert.ok(known.has(n.type), `unknown node type ${n.type}`);
    const next = (type: string) => {
      const n = flow.find((m) => m.type === type)!;
      return n.wires!.flat().map((id) => byId.get(id)!.type);
    };
    assert.ok(next('tap-source').includes('eq'));
    assert.deepStrictEqual(next('eq'), ['soft-clip']);
    assert.deepStrictEqual(next('soft-clip'), ['wav-sink']);
    const eq = flow.find((m) => m.type === 'eq') as unknown as { bands: Band[] };
    assert.ok(eq.bands.length === 10);
  });
});

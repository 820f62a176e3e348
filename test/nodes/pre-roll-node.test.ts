/**
 * The pre-roll node in Node-RED (node-red-node-test-helper) on synthetic PCM: what ends a
 * triggered recording (its length, "stop", the source's end, another source recording), and
 * what is refused. The real capture path is in test/pre-roll.test.ts.
 */
import assert from 'assert';
import { pcmFields } from '../../src/format';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const preRoll = require('../../nodes/pre-roll/pre-roll.js');

helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
const format = { sampleRate: 8000, channels: 1 as const, encoding: 's16le' as const };
/** Frames per chunk: 0.1 s. */
const C = 800;

/** C frames (0.1 s at 8 kHz) of mono s16le whose samples are their positions. */
function pcm(recordingId: string, position: number, extra: Msg = {}): Msg {
  const payload = Buffer.alloc(2 * C);
  for (let i = 0; i < C; i++) payload.writeInt16LE(position + i, i * 2);
  return { payload, ...pcmFields(format, recordingId, position, 'player'), ...extra };
}

function final(recordingId: string, position: number, reason: string): Msg {
  const fields = pcmFields(format, recordingId, position, 'player');
  return { payload: Buffer.alloc(0), ...fields, audio: { ...fields.audio, final: true, reason } };
}

describe('pre-roll node', function () {
  let out: Msg[];

  beforeEach(function (done) {
    out = [];
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  async function load(config: Msg) {
    await helper.load([preRoll], [
      { id: 'roll', type: 'pre-roll', wires: [['out']], ...config },
      { id: 'out', type: 'helper' },
    ]);
    helper.getNode('out').on('input', (msg: Msg) => out.push(msg));
    return helper.getNode('roll');
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const samplesOf = (msgs: Msg[]) => msgs.flatMap((m) => Array.from({ length: m.payload.length / 2 }, (_, i) => m.payload.readInt16LE(i * 2)));

  it('keeps the last 0.5 s; a trigger sends them as one message, then the live ones, and ends after 0.3 s', async function () {
    const roll = await load({ seconds: 0.5, after: 0.3 });
    for (let p = 0; p < 20 * C; p += C) roll.receive(pcm('src', p));
    roll.receive({ payload: 'go', ask: 42 });
    for (let p = 20 * C; p < 26 * C; p += C) roll.receive(pcm('src', p));
    await settle();
    assert.strictEqual(out[0].payload.length / 2, 5 * C, 'the kept 0.5 s in one message');
    assert.strictEqual(out[0].audio.position, 15 * C);
    const final = out[out.length - 1];
    assert.strictEqual(final.audio.final, true);
    assert.strictEqual(final.audio.reason, 'stopped');
    assert.strictEqual(final.audio.position, 23 * C);
    assert.deepStrictEqual(samplesOf(out.slice(0, -1)), Array.from({ length: 8 * C }, (_, i) => 15 * C + i), '0.5 s before the trigger to 0.3 s after, no seam');
    assert.ok(out.every((m) => m.ask === 42 && m.audio.recordingId === out[0].audio.recordingId && m.audio.recordingId !== 'src'));
  });

  it('"stop" ends the recordings being sent; the source ending ends them with its reason; another source recording too', async function () {
    const roll = await load({ seconds: 0.2, after: 0 });
    roll.receive(pcm('src', 0));
    roll.receive(pcm('src', C));
    roll.receive({ payload: 'save' });
    roll.receive(pcm('src', 2 * C));
    roll.receive({ payload: 'stop' });
    roll.receive({ payload: 'save' });
    roll.receive(final('src', 3 * C, 'target-exited'));
    roll.receive(pcm('next', 0));
    roll.receive({ payload: 'save' });
    roll.receive(pcm('other', 0));
    await settle();
    const byId = new Map<string, Msg[]>();
    for (const m of out) byId.set(m.audio.recordingId, [...(byId.get(m.audio.recordingId) ?? []), m]);
    const ends = [...byId.values()].map((msgs) => {
      const last = msgs[msgs.length - 1];
      return [last.audio.final, last.audio.reason, last.audio.position, samplesOf(msgs).length];
    });
    assert.deepStrictEqual(ends, [
      [true, 'stopped', 3 * C, 3 * C], // 0.2 s kept + 0.1 s live, ended by "stop"
      [true, 'target-exited', 3 * C, 2 * C], // ended with its source
      [true, 'stopped', C, C], // ended by another source recording
    ]);
  });

  it('refuses a bad msg.duration, a partial frame and bad settings, each with a clear error', async function () {
    const roll = await load({ seconds: 1, after: 1 });
    const errors: string[] = [];
    roll.on('call:error', (call: { args: any[] }) => errors.push(String(call.args[0]?.message ?? call.args[0])));
    roll.receive(pcm('src', 0));
    roll.receive({ payload: 'save', duration: 'soon' });
    roll.receive({ payload: Buffer.alloc(3), audio: { sampleRate: 8000, channels: 1, encoding: 's16le' } });
    await settle();
    assert.match(errors[0], /msg\.duration: expected seconds/);
    assert.match(errors[1], /not a whole number of 2-byte frames/);
    await helper.unload();
    const bad = await load({ seconds: -3, after: 1 });
    bad.on('call:error', (call: { args: any[] }) => errors.push(String(call.args[0]?.message ?? call.args[0])));
    bad.receive({ payload: 'save' });
    await settle();
    assert.match(errors[2], /pre-roll settings: pre-roll: expected seconds above 0/);
  });
});

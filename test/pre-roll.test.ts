/**
 * pre-roll on a real server: tap-source runs from deploy, a tone plays all along, and triggers
 * save the last 10 s. Each saved recording is checked sample for sample against the whole
 * recording the tap-source made meanwhile (a second wav-sink): it starts exactly 10 s before
 * its trigger and runs on into the live part without a seam.
 */
import assert from 'assert';
import path from 'path';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { readWav } from './helpers/wav';
import { playTone, waitFor, waitForRendering } from './helpers/pulse';
import { useFlowRig } from './helpers/flow-rig';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const tapSource = require('../nodes/tap-source/tap-source.js');
const wavSink = require('../nodes/wav-sink/wav-sink.js');
const preRoll = require('../nodes/pre-roll/pre-roll.js');

helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;

describe('pre-roll (real server): save the last 10 s when a trigger arrives', function () {
  this.timeout(60000);
  const rig = useFlowRig(helper, 'preroll');

  it('a tone playing 20 s before two overlapping triggers: two files, each from 10 s before its trigger to 2 s after, identical to the whole recording there; the triggers ride along', async function () {
    const player = playTone('tone-preroll', 440, { seconds: 60, amplitude: 0.5 });
    rig.players.push(player);
    await waitForRendering(player);
    await helper.load(
      [tapSource, wavSink, preRoll],
      [
        { id: 'tap', type: 'tap-source', targetType: 'app', app: 'tone-preroll', startOnDeploy: true, wires: [['roll', 'whole'], ['events']] },
        { id: 'roll', type: 'pre-roll', seconds: 10, after: 2, wires: [['takes', 'out']] },
        { id: 'takes', type: 'wav-sink', directory: rig.dir, filename: 'take-{recordingId}.wav', wires: [['saved']] },
        { id: 'whole', type: 'wav-sink', directory: rig.dir, filename: 'whole.wav', wires: [['saved']] },
        { id: 'out', type: 'helper' },
        { id: 'events', type: 'helper' },
        { id: 'saved', type: 'helper' },
      ],
    );
    const out: Msg[] = [];
    const saved: Msg[] = [];
    const lifecycle: Msg[] = [];
    helper.getNode('out').on('input', (msg: Msg) => out.push(msg));
    helper.getNode('saved').on('input', (msg: Msg) => saved.push(msg));
    helper.getNode('events').on('input', (msg: Msg) => lifecycle.push(msg.payload));
    await waitFor(() => lifecycle.some((p) => p.event === 'started'), 5000, 'the recording to start');
    // The tone has played 20 s into the recording when the first trigger comes.
    await new Promise((resolve) => setTimeout(resolve, 20000));
    helper.getNode('roll').receive({ payload: 'save', requestId: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    helper.getNode('roll').receive({ payload: 'save', requestId: 'second', duration: 1.5 });
    await waitFor(() => saved.filter((m) => m.payload.recordingId !== lifecycle[0].recordingId).length === 2, 10000, 'two saved files');
    helper.getNode('tap').receive({ payload: 'stop' });
    await waitFor(() => saved.length === 3, 10000, 'the whole recording');

    const whole = await readWav(path.join(rig.dir, 'whole.wav'));
    const wholeSamples = channelSamples(whole.data, 's16le', 2);
    const ids = [...new Set(out.map((m) => m.audio.recordingId))];
    assert.strictEqual(ids.length, 2, 'two recordings, each with its own id');
    for (const [k, id] of ids.entries()) {
      const msgs = out.filter((m) => m.audio.recordingId === id);
      const final = msgs[msgs.length - 1];
      assert.strictEqual(final.audio.final, true);
      assert.strictEqual(final.audio.reason, 'stopped');
      assert.ok(msgs.every((m) => m.requestId === (k === 0 ? 'first' : 'second')), 'the trigger rides along');
      // The kept 10 s in one message, then the live chunks; contiguous positions to the end.
      assert.strictEqual(msgs[0].payload.length / 4, 10 * 48000, 'the kept part as one message');
      let at = msgs[0].audio.position;
      const start = at;
      for (const m of msgs.slice(0, -1)) {
        assert.strictEqual(m.audio.position, at, 'contiguous positions');
        at += m.payload.length / 4;
      }
      assert.strictEqual(final.audio.position, at);
      const frames = at - start;
      assert.strictEqual(frames, (k === 0 ? 12 : 11.5) * 48000, `recording ${k + 1}: ${frames} frames`);
      assert.ok(start > 9 * 48000, `recording ${k + 1} starts at ${start / 48000} s of the whole one (the first trigger came about 20 s in)`);
      // The file is the whole recording's frames there, sample for sample.
      const file = saved.find((m) => m.payload.recordingId === id)!;
      const take = await readWav(file.payload.path);
      assert.strictEqual(take.data.length, frames * 4);
      assert.strictEqual(file.payload.droppedFrames, 0, 'the wav sink took the kept part whole');
      assert.ok(take.data.equals(whole.data.subarray(start * 4, at * 4)), `recording ${k + 1} equals the whole recording from ${start / 48000} s`);
      const head = channelSamples(take.data, 's16le', 2).subarray(0, 4800);
      assert.ok(Math.abs(db(medianToneAmplitude(head, 440, 48000, 20), 0.5)) < 1, `the tone from the first 100 ms of recording ${k + 1}`);
    }
    const starts = ids.map((id) => out.find((m) => m.audio.recordingId === id)!.audio.position);
    assert.ok(Math.abs((starts[1] - starts[0]) / 48000 - 1) < 0.3, `the triggers 1 s apart, the recordings ${(starts[1] - starts[0]) / 48000} s apart`);
    assert.ok(Math.abs(db(medianToneAmplitude(wholeSamples, 440, 48000), 0.5)) < 1);
  });

  it('a trigger before any audio is ENOAUDIO, for a catch node', async function () {
    await helper.unload();
    await helper.load([preRoll], [{ id: 'roll', type: 'pre-roll', seconds: 5, after: 1, wires: [[]] }]);
    const roll = helper.getNode('roll');
    const error = new Promise<any>((resolve) => roll.on('call:error', (call: { args: any[] }) => resolve(call.args)));
    roll.receive({ payload: 'save', requestId: 'early' });
    const [err, msg] = (await error) as [Error & { code?: string }, Msg];
    assert.match(err.message, /nothing kept yet/);
    assert.strictEqual(err.code, 'ENOAUDIO', 'Node-RED copies it to msg.error.code');
    assert.strictEqual(msg.requestId, 'early', 'reported with the trigger, so that a catch node can answer it');
  });
});

/**
 * tap-source's activity on a real server: idle / active events and a file per activity, from a
 * player that keeps its stream open and sounds in bursts (a call app between calls). Checked
 * on disk: one WAV file per burst, each starting with its burst.
 */
import assert from 'assert';
import path from 'path';
import { Bursts, playTone, waitFor } from './helpers/pulse';
import { useFlowRig } from './helpers/flow-rig';
import { readWav } from './helpers/wav';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const tapSource = require('../nodes/tap-source/tap-source.js');
const wavSink = require('../nodes/wav-sink/wav-sink.js');

helper.init(require.resolve('node-red'));

type Lifecycle = Record<string, any>;

describe('tap-source activity (real server): idle / active and a file per activity', function () {
  this.timeout(40000);
  const rig = useFlowRig(helper, 'activity');

  it('three bursts 2 s apart in one stream: active and idle three times each, and three files, each holding its burst from its start', async function () {
    // 2.5 s of silence first (a null sink renders the first ~2 s of a new stream ahead, before a
    // monitor can hear it), then 0.5 s of tone every 2 s; idle after 0.6 s of quiet.
    const bursts: Bursts = { leadSeconds: 2.5, onSeconds: 0.5, periodSeconds: 2 };
    await helper.load(
      [tapSource, wavSink],
      [
        { id: 'tap', type: 'tap-source', targetType: 'app', app: 'tone-activity', startOnDeploy: true, idleAfter: 0.6, soundLevel: -30, splitOnActivity: true, wires: [['sink'], ['events']] },
        { id: 'sink', type: 'wav-sink', directory: rig.dir, filename: 'call-{recordingId}.wav', wires: [['closed']] },
        { id: 'events', type: 'helper' },
        { id: 'closed', type: 'helper' },
      ],
    );
    const lifecycle: Lifecycle[] = [];
    const files: Array<{ filename: string; payload: Lifecycle }> = [];
    helper.getNode('events').on('input', (msg: { payload: Lifecycle }) => lifecycle.push(msg.payload));
    helper.getNode('closed').on('input', (msg: { filename: string; payload: Lifecycle }) => files.push(msg));
    // Armed on deploy: the capture waits for the app, then records it from its first stream.
    await waitFor(() => lifecycle.some((p) => p.event === 'waiting'), 10000, 'the capture to wait for the app');
    const player = playTone('tone-activity', 440, { seconds: 9, amplitude: 0.5, bursts });
    rig.players.push(player);
    await waitFor(() => files.length === 3, 20000, 'three files').catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify(lifecycle.filter((p) => p.event !== 'level'))}`);
    });
    helper.getNode('tap').receive({ payload: 'stop' });
    await waitFor(() => lifecycle.some((p) => p.event === 'stopped'), 5000, 'the stop');

    const activity = lifecycle.filter((p) => p.event === 'active' || p.event === 'idle');
    assert.deepStrictEqual(activity.map((p) => `${p.event} ${p.segment}`), ['active 1', 'idle 1', 'active 2', 'idle 2', 'active 3', 'idle 3']);
    const onsets = activity.filter((p) => p.event === 'active').map((p) => p.seconds as number);
    for (let i = 1; i < 3; i++) {
      const gap = onsets[i] - onsets[i - 1];
      assert.ok(Math.abs(gap - 2) <= 0.3, `bursts 2 s apart, activity ${gap.toFixed(2)} s apart (${onsets.join(', ')})`);
    }
    for (const idle of activity.filter((p) => p.event === 'idle')) {
      assert.ok(idle.quietSeconds >= 0.6 && idle.quietSeconds <= 0.6 + 0.27, `idle after ${idle.quietSeconds} s of quiet`);
    }
    const stopped = lifecycle.find((p) => p.event === 'stopped')!;
    assert.strictEqual(stopped.segments, 3);

    const id = lifecycle.find((p) => p.event === 'started')!.recordingId as string;
    assert.deepStrictEqual(files.map((f) => path.basename(f.filename)), [1, 2, 3].map((n) => `call-${id}-${n}.wav`));
    for (const file of files) {
      assert.strictEqual(file.payload.reason, 'idle');
      const wav = await readWav(file.filename);
      const samples = new Int16Array(wav.data.buffer, wav.data.byteOffset, wav.data.length / 2);
      const seconds = samples.length / 2 / 48000;
      // The burst (0.5 s) from the start of the level window that heard it (windows are 0.26 s:
      // 13 chunks of 20 ms), and the quiet until idle: 0.6 s after the last window with sound.
      assert.ok(seconds >= 1.05 && seconds <= 1.95, `${path.basename(file.filename)}: ${seconds.toFixed(2)} s`);
      let peakHead = 0;
      for (let i = 0; i < 2 * 48000 * 0.3; i++) peakHead = Math.max(peakHead, Math.abs(samples[i]) / 32767);
      assert.ok(peakHead > 0.4, `${path.basename(file.filename)} starts with its burst (peak ${peakHead.toFixed(2)} in its first 0.3 s)`);
      let peakTail = 0;
      for (let i = samples.length - 2 * 48000 * 0.5; i < samples.length; i++) peakTail = Math.max(peakTail, Math.abs(samples[i]) / 32767);
      assert.ok(peakTail < 0.001, `${path.basename(file.filename)} ends in the quiet (peak ${peakTail} in its last 0.5 s)`);
    }
  });
});

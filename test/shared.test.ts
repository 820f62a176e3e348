/**
 * Shared captures on a real server: captures of one app with the same options in one process
 * open one capture stream on the server, each gets every chunk (its own Buffer) on a timeline
 * of its own from where it joined, and the stream closes with the last of them. Three
 * tap-source nodes on one app: three identical files.
 */
import assert from 'assert';
import fs from 'fs';
import { AudioChunk, Capture, CaptureEnd } from '../src/engine';
import { useFlowRig } from './helpers/flow-rig';
import { playTone, sourceOutputs, waitFor, waitForRendering } from './helpers/pulse';
import { readWav } from './helpers/wav';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const tapSource = require('../nodes/tap-source/tap-source.js');
const wavSink = require('../nodes/wav-sink/wav-sink.js');

helper.init(require.resolve('node-red'));

interface Taken {
  capture: Capture;
  chunks: AudioChunk[];
  shared: number[];
  ended: Promise<CaptureEnd>;
}

function take(options: ConstructorParameters<typeof Capture>[0]): Taken {
  const capture = new Capture(options);
  const taken: Taken = { capture, chunks: [], shared: [], ended: new Promise((resolve) => capture.on('end', resolve)) };
  capture.on('chunk', (chunk: AudioChunk) => taken.chunks.push(chunk));
  capture.on('shared', (count: number) => taken.shared.push(count));
  return taken;
}

const pcmOf = (t: Taken) => Buffer.concat(t.chunks.map((c) => c.data));

describe('shared captures (real server)', function () {
  this.timeout(30000);
  const rig = useFlowRig(helper, 'shared');

  before(async function () {
    const player = playTone('tone-shared', 440, { seconds: 60 });
    rig.players.push(player);
    await waitForRendering(player);
  });

  it('three captures of one app: one stream on the server, the same chunks in buffers of their own; a late one counts from 0 where it joined; the stream closes with the last', async function () {
    const target = { kind: 'app' as const, apps: ['tone-shared'] };
    const [a, b] = [take({ target }), take({ target })];
    await Promise.all([a.capture.start(), b.capture.start()]);
    await waitFor(() => a.chunks.length >= 25, 5000, 'half a second');
    assert.strictEqual(sourceOutputs().length, 1, 'one capture stream for two captures');
    const c = take({ target });
    // c joins now: its first chunk is the next one b gets.
    const joinIndex = b.chunks.length;
    await c.capture.start();
    assert.strictEqual(c.capture.sharedBy, 3);
    await waitFor(() => c.chunks.length >= 25, 5000, 'the late one to record');
    assert.strictEqual(sourceOutputs().length, 1, 'one capture stream for three captures');
    a.capture.stop();
    const endA = await a.ended;
    assert.strictEqual(endA.reason, 'stopped');
    assert.strictEqual(sourceOutputs().length, 1, 'the others still record');
    await new Promise((resolve) => setTimeout(resolve, 200));
    b.capture.stop();
    await b.ended;
    c.capture.stop();
    const endC = await c.ended;
    assert.strictEqual(endC.reason, 'stopped');
    await waitFor(() => sourceOutputs().length === 0, 3000, 'the capture stream to close with the last capture');

    // a and b started together: the same chunks, at the same positions, in buffers of their own.
    const n = a.chunks.length;
    assert.deepStrictEqual(b.chunks.slice(0, n).map((x) => x.position), a.chunks.map((x) => x.position));
    assert.ok(pcmOf(b).subarray(0, pcmOf(a).length).equals(pcmOf(a)), 'the same audio');
    assert.notStrictEqual(a.chunks[0].data.buffer, b.chunks[0].data.buffer, 'buffers of their own');
    // c counts from 0, contiguous, and its audio is b's from where it joined.
    assert.strictEqual(c.chunks[0].position, 0);
    let at = 0;
    for (const chunk of c.chunks) {
      assert.strictEqual(chunk.position, at);
      at += chunk.frames;
    }
    assert.strictEqual(endC.frames, at);
    assert.ok(joinIndex >= 25, 'c joined half a second after b started');
    const shift = b.chunks[joinIndex].position;
    for (const [i, chunk] of c.chunks.entries()) {
      const twin = b.chunks[joinIndex + i];
      if (!twin) break;
      assert.strictEqual(chunk.position + shift, twin.position, "c's positions are b's, from 0 where it joined");
      assert.ok(chunk.data.equals(twin.data), `c's chunk ${i} is b's chunk ${joinIndex + i}`);
    }
    assert.deepStrictEqual(a.shared.slice(0, 3), [1, 2, 3]);
  });

  it('share: false opens a capture of its own', async function () {
    const target = { kind: 'app' as const, apps: ['tone-shared'] };
    const [a, b] = [take({ target }), take({ target, share: false })];
    await Promise.all([a.capture.start(), b.capture.start()]);
    await waitFor(() => a.chunks.length >= 5 && b.chunks.length >= 5, 5000, 'both to record');
    assert.strictEqual(sourceOutputs().length, 2);
    assert.strictEqual(a.capture.sharedBy, 1);
    a.capture.stop();
    b.capture.stop();
    await Promise.all([a.ended, b.ended]);
  });

  it('three tap-source nodes on one app started by one message: one capture stream, three identical files, the status says shared ×3', async function () {
    const taps = ['t1', 't2', 't3'];
    await helper.load(
      [tapSource, wavSink],
      [
        ...taps.map((id) => ({ id, type: 'tap-source', targetType: 'app', app: 'tone-shared', duration: 2, wires: [['sink'], []] })),
        { id: 'sink', type: 'wav-sink', directory: rig.dir, filename: '{recordingId}.wav', wires: [['saved']] },
        { id: 'saved', type: 'helper' },
      ],
    );
    const saved: Array<{ payload: { path: string; frames: number } }> = [];
    helper.getNode('saved').on('input', (msg: { payload: { path: string; frames: number } }) => saved.push(msg));
    const statuses: string[] = [];
    helper.getNode('t1').on('call:status', (call: { args: Array<{ text?: string }> }) => statuses.push(String(call.args[0].text)));
    for (const id of taps) helper.getNode(id).receive({ payload: 'start' });
    await waitFor(() => statuses.includes('tap-source.status.shared'), 3000, 'the status to say shared');
    assert.strictEqual(sourceOutputs().length, 1, 'one capture stream for three nodes');
    await waitFor(() => saved.length === 3, 10000, 'three files');
    const files = await Promise.all(saved.map((m) => readWav(m.payload.path)));
    for (const file of files) assert.strictEqual(file.data.length, 2 * 48000 * 4);
    assert.ok(files[1].data.equals(files[0].data) && files[2].data.equals(files[0].data), 'three identical files');
    assert.strictEqual(new Set(saved.map((m) => m.payload.path)).size, 3);
    await waitFor(() => sourceOutputs().length === 0, 3000, 'the capture stream to close');
    for (const m of saved) fs.rmSync(m.payload.path);
  });
});

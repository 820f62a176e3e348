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

  it('a stalled consumer drops alone: a paused capture queues at most queueChunks and counts what it drops; the others get every chunk', async function () {
    const target = { kind: 'app' as const, apps: ['tone-shared'] };
    const options = { target, queueChunks: 10 };
    const [a, b, slow] = [take(options), take(options), take(options)];
    await Promise.all([a.capture.start(), b.capture.start(), slow.capture.start()]);
    await waitFor(() => slow.chunks.length >= 5, 5000, 'all three to record');
    slow.capture.pause();
    const pausedAt = slow.chunks.length;
    // 1.2 s stalled: 60 chunks of 20 ms arrive, 10 wait, the rest are dropped.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.strictEqual(slow.chunks.length, pausedAt, 'no chunk event while paused');
    assert.ok(slow.capture.stats().droppedChunks >= 40, `the paused one drops (${slow.capture.stats().droppedChunks})`);
    assert.strictEqual(a.capture.stats().droppedChunks, 0);
    slow.capture.resume();
    assert.strictEqual(slow.chunks.length, pausedAt + 10, 'the 10 that waited come at once on resume');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The slow one leaves first: every chunk it got is in a's.
    for (const t of [slow, b, a]) t.capture.stop();
    const [endA, endB, endSlow] = await Promise.all([a.ended, b.ended, slow.ended]);
    await waitFor(() => sourceOutputs().length === 0, 3000, 'the capture stream to close');

    // a and b: every chunk, contiguous, nothing dropped.
    for (const [t, end] of [[a, endA], [b, endB]] as const) {
      let at = 0;
      for (const chunk of t.chunks) {
        assert.strictEqual(chunk.position, at, 'contiguous');
        at += chunk.frames;
      }
      assert.strictEqual(end.droppedChunks, 0);
      assert.strictEqual(end.frames, at);
    }
    // The slow one: one jump, after the 10 that waited, of exactly the frames it counts as dropped;
    // every chunk it got is a's chunk at that position (they started together).
    let at = 0;
    const jumps: number[] = [];
    const ofA = new Map(a.chunks.map((c) => [c.position, c.data]));
    for (const [i, chunk] of slow.chunks.entries()) {
      if (chunk.position !== at) jumps.push(i);
      assert.ok(chunk.position >= at, 'positions never go back');
      assert.ok(ofA.get(chunk.position)?.equals(chunk.data), `chunk at ${chunk.position} is a's`);
      at = chunk.position + chunk.frames;
    }
    assert.deepStrictEqual(jumps, [pausedAt + 10], 'one jump, where the queue was full');
    const gap = slow.chunks[pausedAt + 10].position - (slow.chunks[pausedAt + 9].position + slow.chunks[pausedAt + 9].frames);
    assert.strictEqual(endSlow.droppedFrames, gap);
    assert.strictEqual(endSlow.droppedChunks, gap / 960);
    assert.strictEqual(endSlow.frames, at, 'its timeline ends with its last chunk');
  });

  it('for await reads a capture at its own pace: chunks wait between pulls, leaving the loop stops only this capture', async function () {
    const target = { kind: 'app' as const, apps: ['tone-shared'] };
    const options = { target, queueChunks: 5 };
    const other = take(options);
    await other.capture.start();
    const reader = new Capture(options);
    await reader.start();
    const read: AudioChunk[] = [];
    for await (const chunk of reader) {
      read.push(chunk);
      // 100 ms per chunk of 20 ms: the queue fills and drops.
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (read.length === 15) break;
    }
    await waitFor(() => reader.result !== undefined, 3000, "the reader's end");
    const end = reader.result!;
    assert.strictEqual(end.reason, 'stopped');
    assert.ok(end.droppedChunks > 20, `the reader dropped (${end.droppedChunks})`);
    let at = 0;
    let dropped = 0;
    for (const chunk of read) {
      assert.ok(chunk.position >= at);
      dropped += chunk.position - at;
      at = chunk.position + chunk.frames;
    }
    assert.ok(dropped <= end.droppedFrames, 'the jumps are dropped frames');
    assert.strictEqual(sourceOutputs().length, 1, 'the other capture goes on');
    await new Promise((resolve) => setTimeout(resolve, 200));
    other.capture.stop();
    const endOther = await other.ended;
    assert.strictEqual(endOther.droppedChunks, 0);
    at = 0;
    for (const chunk of other.chunks) {
      assert.strictEqual(chunk.position, at);
      at += chunk.frames;
    }
  });

  it('for await ends with the capture: stop() from elsewhere ends the loop after the chunks that waited', async function () {
    const reader = new Capture({ target: { kind: 'app', apps: ['tone-shared'] } });
    await reader.start();
    setTimeout(() => reader.stop(), 500);
    let frames = 0;
    let at = 0;
    for await (const chunk of reader) {
      assert.strictEqual(chunk.position, at);
      at += chunk.frames;
      frames += chunk.frames;
    }
    assert.strictEqual(reader.result?.reason, 'stopped');
    assert.strictEqual(reader.result?.frames, frames, 'every frame of the timeline came through the loop');
    assert.ok(frames >= 0.4 * 48000, `half a second (${frames} frames)`);
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

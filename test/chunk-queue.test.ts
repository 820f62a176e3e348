/** A capture's own chunk queue: bounded, drops and counts what finds it full, keeps order. */
import assert from 'assert';
import { ChunkQueue, QueuedChunk } from '../src/chunk-queue';

const chunk = (position: number, frames = 960): QueuedChunk => ({ data: Buffer.alloc(frames * 4), position, frames });

describe('ChunkQueue', function () {
  it('keeps at most its limit, drops and counts later chunks, gives the rest in order', function () {
    const queue = new ChunkQueue(3);
    const results = [0, 960, 1920, 2880, 3840].map((p) => queue.push(chunk(p)));
    assert.deepStrictEqual(results, [true, true, true, false, false]);
    assert.strictEqual(queue.length, 3);
    assert.strictEqual(queue.droppedChunks, 2);
    assert.strictEqual(queue.droppedFrames, 2 * 960);
    assert.deepStrictEqual([queue.shift(), queue.shift()].map((c) => c?.position), [0, 960]);
    assert.ok(queue.push(chunk(4800, 100)), 'room again once taken');
    assert.deepStrictEqual([queue.shift(), queue.shift(), queue.shift()].map((c) => c?.position), [1920, 4800, undefined]);
    assert.strictEqual(queue.length, 0);
  });

  it('stays in order over many pushes and shifts (its storage is compacted, not grown)', function () {
    const queue = new ChunkQueue(5000);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 30; i++) queue.push(chunk(next++, 1));
      for (let i = 0; i < 29; i++) assert.strictEqual(queue.shift()?.position, expected++);
    }
    assert.strictEqual(queue.length, 200);
    assert.strictEqual(queue.droppedChunks, 0);
    while (queue.length) assert.strictEqual(queue.shift()?.position, expected++);
    assert.strictEqual(expected, next);
  });
});

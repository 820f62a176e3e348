import assert from 'assert';
import { streamKey, StreamTable } from '../../src/dsp/streams';

describe('per-stream state table', () => {
  it('keys by recordingId, then topic', () => {
    assert.strictEqual(streamKey({ audio: { recordingId: 'r1' }, topic: 't' }), 'id:r1');
    assert.strictEqual(streamKey({ audio: { recordingId: '' }, topic: 't' }), 'topic:t');
    assert.strictEqual(streamKey({ topic: 't' }), 'topic:t');
    assert.strictEqual(streamKey({}), 'default');
    assert.notStrictEqual(streamKey({ audio: { recordingId: 'x' } }), streamKey({ topic: 'x' }));
  });

  it('keeps at most `limit` streams, dropping the least recently used', () => {
    const table = new StreamTable<number>(3);
    table.set('a', 1);
    table.set('b', 2);
    table.set('c', 3);
    assert.strictEqual(table.get('a'), 1); // a is now the most recent
    table.set('d', 4);
    assert.strictEqual(table.size, 3);
    assert.strictEqual(table.get('b'), undefined, 'b was the least recently used');
    assert.deepStrictEqual([...table.values()].sort(), [1, 3, 4]);
    for (let i = 0; i < 100; i++) table.set(`k${i}`, i);
    assert.strictEqual(table.size, 3);
  });
});

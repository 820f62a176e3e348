/**
 * nodes/pre-roll/history.ts: the last N frames of a stream of chunks, bounded however long the
 * stream runs, cut at the exact frame asked for.
 */
import assert from 'assert';
import { HistoryChunk, PcmHistory } from '../../nodes/pre-roll/history';

/** A mono s16le chunk whose samples are their own timeline positions (mod 32768). */
function chunk(position: number, frames: number): HistoryChunk {
  const data = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) data.writeInt16LE((position + i) % 32768, i * 2);
  return { data, position, frames };
}

function samples(chunks: HistoryChunk[]): number[] {
  const out: number[] = [];
  for (const c of chunks) for (let i = 0; i < c.frames; i++) out.push(c.data.readInt16LE(i * 2));
  return out;
}

describe('pre-roll history', function () {
  it('keeps at least N frames and at most N plus one chunk; since() cuts at the exact frame', function () {
    const history = new PcmHistory(1000);
    assert.strictEqual(history.end, undefined);
    for (let p = 0; p < 5000; p += 160) history.push(chunk(p, 160));
    const end = history.end!;
    assert.strictEqual(end, 5120);
    assert.ok(history.frames >= 1000 && history.frames < 1000 + 160, `${history.frames} frames held`);
    assert.strictEqual(history.bytes, history.frames * 2);
    const last = history.since(end - 1000);
    assert.strictEqual(last[0].position, end - 1000);
    assert.deepStrictEqual(samples(last), Array.from({ length: 1000 }, (_, i) => (end - 1000 + i) % 32768));
    // Asked for more than is held: everything held, from its oldest frame.
    assert.strictEqual(history.since(0)[0].position, history.start);
    // Nothing after the live edge.
    assert.deepStrictEqual(history.since(end), []);
  });

  it('ten minutes of 20 ms chunks at 48 kHz stereo with N = 30 s: never more than N plus one chunk held', function () {
    const rate = 48000;
    const chunkFrames = 960;
    const n = 30 * rate;
    const history = new PcmHistory(n);
    const data = Buffer.alloc(chunkFrames * 4);
    let most = 0;
    let chunks = 0;
    for (let p = 0; p < 600 * rate; p += chunkFrames) {
      history.push({ data, position: p, frames: chunkFrames });
      most = Math.max(most, history.bytes);
      chunks = Math.max(chunks, history.since(0).length);
    }
    assert.ok(history.frames >= n);
    assert.ok(most <= (n + chunkFrames) * 4, `${most} bytes held at most`);
    assert.ok(chunks <= n / chunkFrames + 1, `${chunks} chunks held at most`);
  });

  it('a gap in positions (chunks dropped upstream) is kept as such: since() starts in the right chunk', function () {
    const history = new PcmHistory(500);
    history.push(chunk(0, 200));
    history.push(chunk(1000, 200)); // 800 frames dropped before it
    history.push(chunk(1200, 200));
    assert.deepStrictEqual(history.since(1100).map((c) => [c.position, c.frames]), [[1100, 100], [1200, 200]]);
    assert.deepStrictEqual(history.since(500).map((c) => [c.position, c.frames]), [[1000, 200], [1200, 200]]);
  });

  it('refuses a capacity that is not a whole number of frames of at least 1', function () {
    assert.throws(() => new PcmHistory(0), /at least 1/);
    assert.throws(() => new PcmHistory(1.5), /whole number/);
  });
});

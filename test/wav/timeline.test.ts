/** src/wav/timeline.ts: where each chunk goes in its file, from msg.audio.position. */
import assert from 'assert';
import { Timeline } from '../../src/wav/timeline';

const none = { fill: 0, skipped: 0, back: 0 };

describe('wav timeline', function () {
  it('a file starts at its first chunk, wherever it is (no fill from 0); contiguous chunks need nothing', function () {
    const t = new Timeline(480);
    assert.deepStrictEqual(t.place(96000, 960), none);
    assert.deepStrictEqual(t.place(96960, 960), none);
  });

  it('a jump up to the limit is filled with exactly that much silence', function () {
    const t = new Timeline(480);
    t.place(0, 960);
    assert.deepStrictEqual(t.place(960 + 480, 960), { ...none, fill: 480 });
    assert.deepStrictEqual(t.place(960 + 480 + 960, 960), none, 'the timeline follows the chunk after the fill');
  });

  it('a longer jump is not filled, and said', function () {
    const t = new Timeline(480);
    t.place(0, 960);
    assert.deepStrictEqual(t.place(960 + 481, 960), { ...none, skipped: 481 });
  });

  it('limit 0 never fills', function () {
    const t = new Timeline(0);
    t.place(0, 10);
    assert.deepStrictEqual(t.place(11, 10), { ...none, skipped: 1 });
  });

  it('a position that goes back is written right after the last chunk, and said', function () {
    const t = new Timeline(480);
    t.place(0, 960);
    assert.deepStrictEqual(t.place(900, 960), { ...none, back: 60 });
    assert.deepStrictEqual(t.place(1860, 10), none, 'the timeline follows the chunk as positioned');
  });

  it('chunks without a usable position follow the last one', function () {
    const t = new Timeline(480);
    for (const position of [undefined, -1, 1.5, '960', Number.MAX_SAFE_INTEGER + 2]) {
      assert.deepStrictEqual(new Timeline(480).place(position, 10), none, String(position));
    }
    t.place(0, 960);
    assert.deepStrictEqual(t.place(undefined, 960), none);
    assert.deepStrictEqual(t.place(1920, 960), none, 'the unpositioned chunk advanced the timeline');
  });
});

/**
 * nodes/tap-source/activity.ts: idle and active from level windows, on the timeline.
 */
import assert from 'assert';
import { ActivityDetector } from '../../nodes/tap-source/activity';

describe('tap-source activity detector', function () {
  it('starts idle; the first window at the threshold is active, at its start', function () {
    const d = new ActivityDetector(1000, -60);
    assert.strictEqual(d.isIdle, true);
    assert.strictEqual(d.window(0, 250, -60.1), undefined);
    assert.deepStrictEqual(d.window(250, 500, -60), { kind: 'active', position: 250 });
    assert.strictEqual(d.isIdle, false);
    assert.strictEqual(d.window(500, 750, -10), undefined, 'still active: no second event');
  });

  it('idle once the quiet has lasted idleFrames, at the end of the last sound; not a frame earlier', function () {
    const d = new ActivityDetector(1000, -60);
    d.window(0, 250, -6);
    assert.strictEqual(d.window(250, 500, -100), undefined);
    assert.strictEqual(d.window(500, 750, -100), undefined);
    assert.strictEqual(d.window(750, 1000, -100), undefined);
    assert.strictEqual(d.window(1000, 1249, -100), undefined, '999 frames of quiet');
    assert.deepStrictEqual(d.window(1249, 1250, -100), { kind: 'idle', position: 250 });
    assert.strictEqual(d.window(1250, 5000, -100), undefined, 'idle already');
    assert.deepStrictEqual(d.window(5000, 5250, 0), { kind: 'active', position: 5000 });
  });

  it('a sound within the quiet starts the count again', function () {
    const d = new ActivityDetector(1000, -60);
    d.window(0, 250, -6);
    d.window(250, 1000, -100);
    assert.strictEqual(d.window(1000, 1250, -30), undefined);
    assert.strictEqual(d.window(1250, 2200, -100), undefined, '950 frames since the last sound');
    assert.deepStrictEqual(d.window(2200, 2250, -100), { kind: 'idle', position: 1250 });
  });
});

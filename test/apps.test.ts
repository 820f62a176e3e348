/** src/apps.ts without a server: app references, and setAppVolume's argument checks (made before any native call). */
import assert from 'assert';
import { checkAppList, checkAppRef, setAppVolume } from '../src/apps';

describe('apps: app references', function () {
  it('checkAppRef: a positive integer or digits is a PID, other text a name (trimmed)', function () {
    assert.strictEqual(checkAppRef(1234, 'app'), 1234);
    assert.strictEqual(checkAppRef(' 1234 ', 'app'), 1234);
    assert.strictEqual(checkAppRef(' Google Chrome ', 'app'), 'Google Chrome');
    assert.strictEqual(checkAppRef('vlc2', 'app'), 'vlc2');
  });

  it('checkAppRef: anything else is a TypeError naming the field and the value', function () {
    for (const value of [0, -5, 1.5, NaN, '', '   ', null, undefined, true, {}, []]) {
      assert.throws(
        () => checkAppRef(value, 'target.apps[2]'),
        (e: Error) => e instanceof TypeError && e.message.startsWith('target.apps[2]: expected a PID (positive integer) or an app name, got '),
        JSON.stringify(value),
      );
    }
  });

  it('checkAppList: one or an array, item by item; none for undefined or null', function () {
    assert.deepStrictEqual(checkAppList(undefined, 'exclude'), []);
    assert.deepStrictEqual(checkAppList(null, 'exclude'), []);
    assert.deepStrictEqual(checkAppList('zoom', 'exclude'), ['zoom']);
    assert.deepStrictEqual(checkAppList(['zoom', '77', 8], 'exclude'), ['zoom', 77, 8]);
    assert.throws(() => checkAppList(['zoom', ''], 'exclude'), /^TypeError: exclude\[1\]: expected a PID/);
  });

  it('setAppVolume refuses bad arguments with a TypeError before reaching the OS', function () {
    assert.throws(() => setAppVolume('' as never, { volume: 0.5 }), /^TypeError: app: expected a PID/);
    assert.throws(() => setAppVolume('vlc', { volume: 1.5 }), /^TypeError: volume: expected a linear gain from 0 to 1, got 1.5/);
    assert.throws(() => setAppVolume('vlc', { volume: -0.1 }), /^TypeError: volume:/);
    assert.throws(() => setAppVolume('vlc', { mute: 'yes' as never }), /^TypeError: mute: expected true or false/);
  });
});

/** src/node-red/targets.ts: what tap-source captures, from its form and from msg.target. */
import assert from 'assert';
import { describeTarget, parseAppList, parseTarget, parseTrackList } from '../../src/node-red/targets';

describe('parseAppList', function () {
  it('splits a comma-separated list: digits are PIDs, the rest names, blanks skipped', function () {
    assert.deepStrictEqual(parseAppList(' firefox, 1234 ,, vlc media player ,'), ['firefox', 1234, 'vlc media player']);
  });

  it('takes an array (checked item by item) and a PID', function () {
    assert.deepStrictEqual(parseAppList(['mpv', '42', 7]), ['mpv', 42, 7]);
    assert.deepStrictEqual(parseAppList(99), [99]);
  });

  it('is empty for nothing', function () {
    for (const value of [undefined, null, '', ' , ', {}, true]) assert.deepStrictEqual(parseAppList(value), [], JSON.stringify(value));
  });

  it('refuses items that are neither a PID nor a name, naming the field and the item', function () {
    assert.throws(() => parseAppList(['mpv', -3], 'exclude'), (e: Error) => e instanceof TypeError && /exclude\[1\]: expected a PID/.test(e.message));
    assert.throws(() => parseAppList([{}]), /app\[0\]: expected a PID/);
    assert.throws(() => parseAppList(1.5), /app: expected a PID/);
  });
});

describe('parseTarget', function () {
  it('an app name, a PID, or several', function () {
    assert.deepStrictEqual(parseTarget('firefox'), { kind: 'app', apps: ['firefox'] });
    assert.deepStrictEqual(parseTarget(1234), { kind: 'app', apps: [1234] });
    assert.deepStrictEqual(parseTarget('a, 12'), { kind: 'app', apps: ['a', 12] });
    assert.deepStrictEqual(parseTarget(['a', 12]), { kind: 'app', apps: ['a', 12] });
  });

  it('"system" in any case, and the system mix minus apps', function () {
    assert.deepStrictEqual(parseTarget(' System '), { kind: 'system', exclude: [] });
    assert.deepStrictEqual(parseTarget({ kind: 'system', exclude: 'zoom, 77' }), { kind: 'system', exclude: ['zoom', 77] });
    assert.deepStrictEqual(parseTarget({ kind: 'system' }), { kind: 'system', exclude: [] });
  });

  it('objects: {kind: "app", apps}, {app} without a kind, {kind: "tap", tapUid}', function () {
    assert.deepStrictEqual(parseTarget({ kind: 'app', apps: ['x'] }), { kind: 'app', apps: ['x'] });
    assert.deepStrictEqual(parseTarget({ app: 'y' }), { kind: 'app', apps: ['y'] });
    assert.deepStrictEqual(parseTarget({ kind: 'tap', tapUid: 'ABC-1' }), { kind: 'tap', tapUid: 'ABC-1' });
  });

  it('refuses what names nothing, saying what it takes', function () {
    for (const value of [undefined, null, '', '  ', [], {}, { kind: 'app', apps: [] }, { kind: 'tap' }, { kind: 'speaker' }, true]) {
      assert.throws(() => parseTarget(value), (e: Error) => e instanceof TypeError && /msg\.target: expected an app name or PID, "system"/.test(e.message), JSON.stringify(value));
    }
  });

  it('refuses an item that is not an app, naming where it is', function () {
    assert.throws(() => parseTarget({ kind: 'system', exclude: [0] }), /msg\.target\.exclude\[0\]: expected a PID/);
    assert.throws(() => parseTarget(['ok', null]), /msg\.target\[1\]: expected a PID/);
  });
});

describe('parseTrackList', function () {
  it('reads tracks separated by ";" or lines: apps (several mixed in one), system, input, input:<source>', function () {
    assert.deepStrictEqual(parseTrackList('zoom; chrome, 1234\n input ;input:mic.monitor; System'), {
      kind: 'tracks',
      tracks: [
        { kind: 'app', apps: ['zoom'] },
        { kind: 'app', apps: ['chrome', 1234] },
        { kind: 'input' },
        { kind: 'input', device: 'mic.monitor' },
        { kind: 'system' },
      ],
    });
    assert.strictEqual(describeTarget(parseTrackList('zoom; input')), 'zoom | input (default)');
  });

  it('refuses no track, more than 16, and an app that is neither a name nor a PID, naming the field', function () {
    assert.throws(() => parseTrackList(' ; '), /^TypeError: tracks: expected 1 to 16 tracks separated by ";"/);
    assert.throws(() => parseTrackList(new Array(17).fill('a').join(';')), /^TypeError: tracks: expected 1 to 16/);
    assert.throws(() => parseTrackList(undefined), /^TypeError: tracks:/);
  });
});

describe('describeTarget', function () {
  it('names a target in a few words', function () {
    assert.strictEqual(describeTarget({ kind: 'app', apps: ['firefox', 12] }), 'firefox, 12');
    assert.strictEqual(describeTarget({ kind: 'system', exclude: [] }), 'system');
    assert.strictEqual(describeTarget({ kind: 'system', exclude: ['zoom'] }), 'system − zoom');
    assert.strictEqual(describeTarget({ kind: 'tap', tapUid: 'U' }), 'tap U');
  });
});

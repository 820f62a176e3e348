/** src/capture.ts without a server: normalizeCaptureOptions, what every Capture checks before the addon sees it. */
import assert from 'assert';
import { Capture, CaptureOptions, normalizeCaptureOptions } from '../src/capture';

const app = { target: { kind: 'app', apps: ['firefox'] } } as CaptureOptions;

describe('capture options', function () {
  it('defaults: 48000 Hz stereo s16le, 20 ms chunks (960 frames), a queue of 50, unmuted', function () {
    const { format, native } = normalizeCaptureOptions(app);
    assert.deepStrictEqual(format, { sampleRate: 48000, channels: 2, encoding: 's16le' });
    assert.deepStrictEqual(native.target, { kind: 'app', apps: ['firefox'] });
    assert.strictEqual(native.chunkFrames, 960);
    assert.strictEqual(native.queueChunks, 50);
    assert.strictEqual(native.mute, false);
    assert.strictEqual(native.processTree, true);
    assert.strictEqual(normalizeCaptureOptions({ ...app, processTree: false }).native.processTree, false);
    // Named apps are followed across restarts unless asked not to; PIDs never are.
    assert.strictEqual(native.follow, true);
    assert.strictEqual(normalizeCaptureOptions({ ...app, follow: false }).native.follow, false);
    assert.strictEqual(normalizeCaptureOptions({ target: { kind: 'app', apps: [1234] } }).native.follow, false);
    assert.strictEqual(normalizeCaptureOptions({ target: { kind: 'system' } }).native.follow, false);
  });

  it('chunk length in frames at the asked rate, at least 16 frames', function () {
    assert.strictEqual(normalizeCaptureOptions({ ...app, format: { sampleRate: 16000 }, chunkMs: 10 }).native.chunkFrames, 160);
    assert.strictEqual(normalizeCaptureOptions({ ...app, format: { sampleRate: 8000 }, chunkMs: 1 }).native.chunkFrames, 16);
  });

  it('targets: apps (names and PIDs checked), the system mix minus apps, a macOS tap', function () {
    assert.deepStrictEqual(normalizeCaptureOptions({ target: { kind: 'app', apps: ['a', '12', 13] } }).native.target, { kind: 'app', apps: ['a', 12, 13] });
    assert.deepStrictEqual(normalizeCaptureOptions({ target: { kind: 'system' } }).native.target, { kind: 'system', exclude: [] });
    assert.deepStrictEqual(normalizeCaptureOptions({ target: { kind: 'system', exclude: ['zoom'] } }).native.target, { kind: 'system', exclude: ['zoom'] });
    assert.deepStrictEqual(normalizeCaptureOptions({ target: { kind: 'tap', tapUid: 'U-1' } }).native.target, { kind: 'tap', tapUid: 'U-1' });
    assert.deepStrictEqual(normalizeCaptureOptions({ target: { kind: 'input' } }).native.target, { kind: 'input' });
    const tracks = normalizeCaptureOptions({
      target: { kind: 'tracks', tracks: [{ kind: 'app', apps: ['zoom', '77'] }, { kind: 'system', device: 'hdmi' }, { kind: 'input', device: 'mic' }] },
    });
    assert.deepStrictEqual(tracks.native.target, {
      kind: 'tracks',
      tracks: [{ kind: 'app', apps: ['zoom', 77] }, { kind: 'system', exclude: [], device: 'hdmi' }, { kind: 'input', device: 'mic' }],
    });
    assert.deepStrictEqual(tracks.tracks, [{ name: 'zoom, 77' }, { name: 'system' }, { name: 'input mic' }]);
    assert.strictEqual(tracks.native.follow, true, 'an app named by name in a track is followed');
  });

  it('a multitrack capture: chunks of tracks × channels, and the track map', function () {
    const capture = new Capture({ target: { kind: 'tracks', tracks: [{ kind: 'app', apps: ['a'] }, { kind: 'input' }] }, format: { channels: 2, encoding: 'f32le' } });
    assert.deepStrictEqual(capture.format, { sampleRate: 48000, channels: 4, encoding: 'f32le' });
    assert.deepStrictEqual(capture.tracks, [
      { index: 0, name: 'a', firstChannel: 0, channels: 2 },
      { index: 1, name: 'input (default)', firstChannel: 2, channels: 2 },
    ]);
    assert.strictEqual(new Capture({ target: { kind: 'app', apps: ['a'] } }).tracks, undefined);
  });

  it('refuses bad options with a TypeError naming the field', function () {
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /^options: expected an object/],
      [{}, /^target: expected an object/],
      [{ target: { kind: 'apps', apps: ['a'] } }, /^target\.kind: expected "app", "system", "input", "tap" or "tracks", got "apps"/],
      [{ target: { kind: 'input', device: 5 } }, /^target\.device: expected a string/],
      [{ target: { kind: 'tracks', tracks: [] } }, /^target\.tracks: expected 1 to 16 targets/],
      [{ target: { kind: 'tracks', tracks: new Array(17).fill({ kind: 'system' }) } }, /^target\.tracks: expected 1 to 16 targets/],
      [{ target: { kind: 'tracks', tracks: [{ kind: 'app', apps: ['a'] }, { kind: 'tap', tapUid: 'U' }] } }, /^target\.tracks\[1\]\.kind: expected "app", "system" or "input", got "tap"/],
      [{ target: { kind: 'tracks', tracks: [{ kind: 'app', apps: [] }] } }, /^target\.tracks\[0\]\.apps: name at least one app/],
      [{ target: { kind: 'tracks', tracks: [{ kind: 'app', apps: ['a'] }] }, mute: true }, /^mute: a multitrack capture is not muted/],
      [{ target: { kind: 'app', apps: [] } }, /^target\.apps: name at least one app/],
      [{ target: { kind: 'app', apps: [0] } }, /^target\.apps\[0\]: expected a PID/],
      [{ target: { kind: 'system', exclude: [''] } }, /^target\.exclude\[0\]:/],
      [{ target: { kind: 'tap' } }, /^target\.tapUid: expected a tap UID/],
      [{ ...app, chunkMs: 0 }, /^chunkMs: expected a number of milliseconds from 1 to 1000/],
      [{ ...app, chunkMs: '20' }, /^chunkMs:/],
      [{ ...app, queueChunks: 1.5 }, /^queueChunks: expected an integer from 1 to 100000/],
      [{ ...app, device: 3 }, /^device: expected a string/],
      [{ ...app, muteMode: 'loud' }, /^muteMode: expected "unmuted", "muted" or "muted-when-tapped"/],
      [{ ...app, deviceStream: -2 }, /^deviceStream: expected a stream index/],
      [{ ...app, processTree: 'no' }, /^processTree: expected true or false, got "no"/],
      [{ ...app, follow: 1 }, /^follow: expected true or false, got 1/],
      [{ ...app, strict: 'yes' }, /^strict: expected true or false, got "yes"/],
      [{ ...app, format: { channels: 6 } }, /^channels: expected 1 or 2/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => normalizeCaptureOptions(options as CaptureOptions), (e: Error) => e instanceof TypeError && message.test(e.message), JSON.stringify(options));
    }
  });
});

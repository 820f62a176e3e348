/** tap-source's level meter and status text, on synthetic PCM. */
import assert from 'assert';
import { LEVEL_FLOOR_DB, LevelMeter, recordingStatus, toDbfs } from '../nodes/tap-source/levels';
import { sineS16 } from './helpers/pulse';

/** Interleaved f32le stereo: left a sine of peak `left`, right a constant `right`. */
function f32Stereo(frames: number, left: number, right: number): Buffer {
  const buffer = Buffer.alloc(frames * 8);
  for (let i = 0; i < frames; i++) {
    buffer.writeFloatLE(left * Math.sin((2 * Math.PI * 1000 * i) / 48000), i * 8);
    buffer.writeFloatLE(right, i * 8 + 4);
  }
  return buffer;
}

describe('tap-source levels', function () {
  it('a sine of peak 0.5 (s16le): −6.0 dBFS peak, −9.0 dBFS RMS, per channel', function () {
    const meter = new LevelMeter(2, 's16le', 12000);
    const pcm = sineS16(440, 0.25, 0.5);
    let full = false;
    for (let at = 0; at < pcm.length; at += 3840) full = meter.add(pcm.subarray(at, at + 3840));
    assert.ok(full, 'a quarter second fills a 12000-frame window');
    const levels = meter.take();
    assert.strictEqual(levels.frames, 12000);
    for (const peak of levels.peak) assert.ok(Math.abs(peak - -6.02) <= 0.1, `peak ${peak}`);
    for (const rms of levels.rms) assert.ok(Math.abs(rms - -9.03) <= 0.1, `rms ${rms}`);
  });

  it('keeps channels apart (f32le) and starts a new window after take()', function () {
    const meter = new LevelMeter(2, 'f32le', 4800);
    assert.strictEqual(meter.add(f32Stereo(2400, 1, 0.1)), false);
    assert.strictEqual(meter.add(f32Stereo(2400, 1, 0.1)), true);
    const first = meter.take();
    assert.ok(Math.abs(first.peak[0] - 0) <= 0.1 && Math.abs(first.rms[0] - -3.01) <= 0.1, JSON.stringify(first));
    assert.deepStrictEqual([first.peak[1], first.rms[1]], [-20, -20]);
    meter.add(f32Stereo(4800, 0, 0));
    assert.deepStrictEqual(meter.take(), { peak: [LEVEL_FLOOR_DB, LEVEL_FLOOR_DB], rms: [LEVEL_FLOOR_DB, LEVEL_FLOOR_DB], frames: 4800 });
  });

  it('toDbfs: 0.1 dB steps, silence at the floor, a finite number always', function () {
    assert.strictEqual(toDbfs(1), 0);
    assert.strictEqual(toDbfs(0.5), -6);
    assert.strictEqual(toDbfs(0), LEVEL_FLOOR_DB);
    assert.strictEqual(toDbfs(1e-9), LEVEL_FLOOR_DB);
    assert.strictEqual(toDbfs(Number.NaN), LEVEL_FLOOR_DB);
  });

  it('the status text: elapsed time and peak, under 20 characters', function () {
    assert.strictEqual(recordingStatus(12.7, -18.4), '● 0:12 −18 dBFS');
    assert.strictEqual(recordingStatus(0.2, undefined), '● 0:00');
    assert.strictEqual(recordingStatus(61, 0), '● 1:01 0 dBFS');
    assert.strictEqual(recordingStatus(5, LEVEL_FLOOR_DB), '● 0:05 −∞ dBFS');
    assert.ok(recordingStatus(99 * 60 + 59, -99.9).length < 20);
  });
});

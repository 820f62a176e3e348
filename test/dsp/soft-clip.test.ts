import assert from 'assert';
import { dbToGain } from '../../src/dsp/cookbook';
import { checkSoftClipSettings, mergeSoftClipSettings, SoftClipper, softClipCurve } from '../../src/dsp/soft-clipper';
import { AudioFormat } from '../../src/format';
import { channel, f32, noise, s16 } from './signals';

const stereo: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 'f32le' };

function floats(buffer: Buffer): Float32Array {
  return new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
}

describe('soft clipper', () => {
  it('is transparent below the threshold (f32 bit-exact)', () => {
    const t = dbToGain(-3);
    const x = noise(48000, t, 7); // |x| ≤ threshold
    const input = f32([x, x.map((v) => -v)]);
    const out = new SoftClipper(stereo, { gain: 0, threshold: -3, ceiling: 0 }).process(input);
    const a = floats(input);
    const b = floats(out);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst <= 1e-6, `largest change ${worst}`);
    assert.ok(out.equals(input), 'not bit-exact');
  });

  it('never exceeds the ceiling, whatever the input and gain', () => {
    const huge = [0.5, 0.8, 1, 2, 10, 1e6, 3.4e38, -3.4e38, -1, -0.75, Infinity, -Infinity, NaN];
    for (const [gain, threshold, ceiling] of [[0, -3, 0], [48, -3, 0], [12, -20, -6], [0, -0.1, 0], [48, -60, -59]]) {
      const clip = new SoftClipper(stereo, { gain, threshold, ceiling });
      const out = floats(clip.process(f32([huge, huge.slice().reverse()])));
      const c = dbToGain(ceiling);
      for (const v of out) {
        assert.ok(Number.isFinite(v), `non-finite output ${v}`);
        assert.ok(Math.abs(v) <= c, `${v} above ceiling ${c} (gain ${gain}, threshold ${threshold}, ceiling ${ceiling})`);
      }
    }
  });

  it('is monotonic and follows the reference curve', () => {
    const n = 20001;
    const x = Float64Array.from({ length: n }, (_, i) => -4 + (8 * i) / (n - 1));
    const out = channel(new SoftClipper({ sampleRate: 48000, channels: 1, encoding: 'f32le' }, { gain: 0, threshold: -6, ceiling: -1 }).process(f32([x])), { channels: 1, encoding: 'f32le' });
    const t = dbToGain(-6), c = dbToGain(-1);
    for (let i = 1; i < n; i++) assert.ok(out[i] >= out[i - 1], `not monotonic at ${x[i]}: ${out[i - 1]} then ${out[i]}`);
    for (let i = 0; i < n; i++) {
      const expected = softClipCurve(Math.fround(x[i]), t, c);
      assert.ok(Math.abs(out[i] - expected) < 1e-6, `at ${x[i]}: ${out[i]} vs ${expected}`);
    }
    // Smooth at the threshold: slope 1 just above it.
    const dy = softClipCurve(t + 1e-6, t, c) - softClipCurve(t, t, c);
    assert.ok(Math.abs(dy / 1e-6 - 1) < 1e-3);
  });

  it('applies the gain before the curve and handles s16le', () => {
    const format: AudioFormat = { sampleRate: 48000, channels: 1, encoding: 's16le' };
    const x = Float64Array.from([0.1, -0.1, 0.5, 0.99, -1]);
    const out = channel(new SoftClipper(format, { gain: 6, threshold: -3, ceiling: -1 }).process(s16([x])), format);
    const g = dbToGain(6), t = dbToGain(-3), c = dbToGain(-1);
    x.forEach((v, i) => {
      const expected = softClipCurve((Math.round(v * 32767) / 32767) * g, t, c);
      assert.ok(Math.abs(out[i] - expected) <= 1 / 32767, `${v}: ${out[i]} vs ${expected}`);
      assert.ok(Math.abs(out[i]) <= c + 0.5 / 32767);
    });
  });

  it('ramps setting changes instead of jumping', () => {
    const mono: AudioFormat = { sampleRate: 48000, channels: 1, encoding: 'f32le' };
    const clip = new SoftClipper(mono, { gain: 0, threshold: -3, ceiling: 0 }, 20);
    const level = new Float64Array(4800).fill(0.5);
    clip.update({ gain: -20, threshold: -3, ceiling: 0 });
    const out = channel(clip.process(f32([level])), mono);
    for (let i = 1; i < out.length; i++) assert.ok(Math.abs(out[i] - out[i - 1]) < 0.5 / 900, `step ${out[i - 1]} → ${out[i]} at ${i}`);
    assert.ok(Math.abs(out[out.length - 1] - 0.05) < 1e-6);
  });

  it('refuses bad settings with the field named', () => {
    assert.throws(() => checkSoftClipSettings({ threshold: NaN }, 'msg.'), /msg\.threshold/);
    assert.throws(() => checkSoftClipSettings({ ceiling: 3 }, 'msg.'), /msg\.ceiling/);
    assert.throws(() => checkSoftClipSettings({ gain: Infinity }, 'msg.'), /msg\.gain/);
    assert.throws(() => mergeSoftClipSettings({ gain: 0, threshold: -3, ceiling: 0 }, { ceiling: -6 }), /msg\.ceiling .* above threshold/);
    assert.throws(() => new SoftClipper(stereo, { gain: 0, threshold: -3, ceiling: 0 }).process(Buffer.alloc(7)), /msg\.payload: 7 bytes/);
  });
});

/** Live changes (ramps, bypass), per-stream memory, bad input. */
import assert from 'assert';
import { Band } from '../../src/dsp/cookbook';
import { checkEqSettings, Equalizer, EqSettings, mergeEqSettings } from '../../src/dsp/equalizer';
import { AudioFormat } from '../../src/format';
import { channel, f32, noise, s16, sine, sineAmplitude } from './signals';

const mono: AudioFormat = { sampleRate: 48000, channels: 1, encoding: 'f32le' };
const stereo: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 'f32le' };
const peak = (gain: number): EqSettings => ({ bands: [{ type: 'peaking', frequency: 1000, gain, q: 1 }], preamp: 0, bypass: false });

function chunks(eq: Equalizer, input: Buffer, frames = 480): Buffer {
  const step = frames * eq.format.channels * (eq.format.encoding === 's16le' ? 2 : 4);
  const parts: Buffer[] = [];
  for (let at = 0; at < input.length; at += step) parts.push(eq.process(input.subarray(at, at + step)));
  return Buffer.concat(parts);
}

/** The samples of an f32le Buffer (which may be a view into a larger pool). */
function floats(b: Buffer): Float32Array {
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Largest sample-to-sample step of a signal after `from`. */
function largestStep(x: Float64Array, from = 1): number {
  let worst = 0;
  for (let i = Math.max(1, from); i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - x[i - 1]));
  return worst;
}

/**
 * Largest third difference after `from`: small for a smooth low-frequency signal (a sine of
 * frequency f scales by (2·sin(πf/fs))³), large at any click, kink or burst of zipper noise.
 */
function largestRoughness(x: Float64Array, from = 3): number {
  let worst = 0;
  for (let i = Math.max(3, from); i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3]));
  }
  return worst;
}

/**
 * Switches +12 dB → −12 dB at 1 kHz halfway through a 1 kHz sine and returns the largest step
 * around the switch relative to the largest step of the steady +12 dB output.
 */
function switchStep(rampMs: number): number {
  const fs = 48000;
  const eq = new Equalizer(mono, peak(12), rampMs);
  const x = sine(1000, fs, fs, 0.2);
  const before = channel(chunks(eq, f32([x.subarray(0, fs / 2)])), mono);
  eq.update(peak(-12));
  const after = channel(chunks(eq, f32([x.subarray(fs / 2)])), mono);
  const steady = largestRoughness(before, fs / 4);
  const joined = Float64Array.from([...before.subarray(before.length - 100), ...after.subarray(0, fs / 10)]);
  return largestRoughness(joined) / steady;
}

describe('eq live control and streams', () => {
  it('ramps a coefficient change without a click (and a jump would click)', () => {
    const ramped = switchStep(20);
    assert.ok(ramped <= 1.05, `ramped change is ${ramped.toFixed(3)}× as rough as the steady signal`);
    const abrupt = switchStep(0);
    assert.ok(abrupt > 2, `an instant change should be rough (got ${abrupt.toFixed(3)}×), else this test proves nothing`);
  });

  it('bypass passes bit for bit and ramps in and out smoothly', () => {
    const fs = 48000;
    const x = sine(440, fs, fs, 0.3);
    const eq = new Equalizer(mono, { ...peak(9), bypass: true }, 20);
    const input = f32([x.subarray(0, 4800)]);
    assert.ok(chunks(eq, input).equals(input), 'bypassed output differs from input');
    eq.update({ ...peak(9), bypass: false });
    const a = channel(chunks(eq, f32([x.subarray(4800, 24000)])), mono);
    eq.update({ ...peak(9), bypass: true });
    const b = channel(chunks(eq, f32([x.subarray(24000)])), mono);
    const all = Float64Array.from([...x.subarray(4790, 4800), ...a, ...b]);
    // 440 Hz near a +9 dB band at 1 kHz: the output grows ≈ 2.2×; steps stay within that of a sine.
    const bound = 0.3 * 2.9 * 2 * Math.sin((Math.PI * 440) / fs);
    assert.ok(largestStep(all) <= bound, `step ${largestStep(all)} > ${bound}`);
    assert.ok(!eq.ramping);
    const tail = f32([x.subarray(0, 960)]);
    assert.ok(eq.process(tail).equals(tail), 'bypass after the ramp is not bit-exact');
  });

  it('ramps between band lists of different lengths and ends at the new response', () => {
    const fs = 48000;
    const four: Band[] = [
      { type: 'peaking', frequency: 200, gain: 6, q: 1 },
      { type: 'peaking', frequency: 1000, gain: -6, q: 2 },
      { type: 'lowpass', frequency: 8000 },
      { type: 'highshelf', frequency: 3000, gain: 4, slope: 1 },
    ];
    const two: Band[] = [{ type: 'peaking', frequency: 1000, gain: 9, q: 1 }, { type: 'highpass', frequency: 50 }];
    const x = sine(1000, fs, fs * 2, 0.1);
    // Interpolated coefficients do not interpolate the response: halfway the gain at 1 kHz may
    // swell past both ends (smoothly, for a few ms). Allowed: twice the steady roughness.
    // An instant switch is far rougher.
    const transition = (from: Band[], to: Band[], rampMs: number) => {
      const eq = new Equalizer(mono, { bands: from, preamp: 0, bypass: false }, rampMs);
      const a = channel(chunks(eq, f32([x.subarray(0, fs)])), mono);
      eq.update({ bands: to, preamp: 0, bypass: false });
      const b = channel(chunks(eq, f32([x.subarray(fs)])), mono);
      const joined = Float64Array.from([...a.subarray(fs - 200), ...b.subarray(0, 4800)]);
      const steady = Math.max(largestRoughness(a, fs / 2), largestRoughness(b, fs / 2));
      return { b, roughness: largestRoughness(joined) / steady };
    };
    for (const [from, to] of [[four, two], [two, four], [[], four], [four, []]] as Band[][][]) {
      const { b, roughness } = transition(from, to, 20);
      const fresh = channel(chunks(new Equalizer(mono, { bands: to, preamp: 0, bypass: false }), f32([x])), mono);
      const settled = sineAmplitude(b, 1000, fs, fs / 2);
      const expected = sineAmplitude(fresh, 1000, fs, fs + fs / 2);
      assert.ok(Math.abs(20 * Math.log10(settled / expected)) < 0.01, `${from.length} → ${to.length} bands: ${settled} vs ${expected}`);
      assert.ok(roughness <= 2, `${from.length} → ${to.length} bands: transition ${roughness.toFixed(2)}× as rough as steady`);
    }
    assert.ok(transition(four, [], 0).roughness > 10, 'an instant switch should be rough, else this test proves nothing');
  });

  it('a new stream starts from silence; reset() forgets the past', () => {
    const x = noise(4800, 0.3, 3);
    const settings = peak(6);
    const a = new Equalizer(stereo, settings);
    const first = chunks(a, f32([x, x]));
    a.reset();
    const again = chunks(a, f32([x, x]));
    assert.ok(first.equals(again));
    const b = new Equalizer(stereo, settings);
    chunks(b, f32([noise(4800, 0.3, 4), x]));
    const dirty = chunks(b, f32([x, x]));
    assert.ok(!dirty.equals(first), 'state is carried between chunks of one stream');
  });

  it('gives the same output whatever the chunk size', () => {
    const x = noise(9600, 0.3, 5);
    const bands: Band[] = [
      { type: 'lowshelf', frequency: 100, gain: 4, slope: 1 },
      { type: 'peaking', frequency: 700, gain: -3, q: 2 },
      { type: 'peaking', frequency: 2000, gain: 5, q: 1 },
      { type: 'highpass', frequency: 40, q: 0.7 },
      { type: 'notch', frequency: 3000, q: 3 },
      { type: 'highshelf', frequency: 8000, gain: -2, slope: 1 },
    ];
    const outputs = [1, 7, 480, 9600].map((n) => chunks(new Equalizer(stereo, { bands, preamp: -1, bypass: false }), f32([x, x]), n));
    for (const out of outputs.slice(1)) assert.ok(out.equals(outputs[0]));
  });

  it('never outputs NaN or Inf, and says how many samples it replaced', () => {
    const eq = new Equalizer(stereo, { bands: [{ type: 'peaking', frequency: 100, gain: 48, q: 100 }], preamp: 48, bypass: false });
    const bad = [NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1, NaN, 0.5];
    const out = floats(chunks(eq, f32([bad, bad])));
    assert.ok(out.every((v) => Number.isFinite(v)), `non-finite output: ${Array.from(out)}`);
    const later = floats(eq.process(f32([sine(100, 48000, 480, 0.1), sine(100, 48000, 480, 0.1)])));
    assert.ok(later.every((v) => Number.isFinite(v)), 'state was poisoned');
    const eq2 = new Equalizer(stereo, peak(3));
    eq2.process(f32([[NaN, 1], [Infinity, 2]]));
    assert.strictEqual(eq2.lastNonFinite, 2);
  });

  it('s16le output saturates instead of wrapping', () => {
    const eq = new Equalizer({ sampleRate: 48000, channels: 1, encoding: 's16le' }, { bands: [], preamp: 12, bypass: false });
    const out = eq.process(s16([[0.9, -0.9, 0.1]]));
    assert.deepStrictEqual([out.readInt16LE(0), out.readInt16LE(2), out.readInt16LE(4)], [32767, -32768, Math.round(3277 * 3.981071705534973)]);
  });

  it('refuses bad settings and input with the field named', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ bands: [{ type: 'peaking', frequency: 1000, q: 0 }] }, /msg\.bands\[0\]\.q/],
      [{ bands: [{ type: 'peaking', frequency: 1000 }, { type: 'lowpass', frequency: -5 }] }, /msg\.bands\[1\]\.frequency/],
      [{ bands: 'loud' }, /msg\.bands must be an array/],
      [{ preamp: NaN }, /msg\.preamp/],
      [{ preamp: 99 }, /msg\.preamp/],
      [{ bypass: 'yes' }, /msg\.bypass/],
      [{ preset: 'nope' }, /msg\.preset must be one of/],
    ];
    for (const [patch, pattern] of cases) {
      assert.throws(() => mergeEqSettings(peak(0), patch), pattern, JSON.stringify(patch));
    }
    assert.throws(() => checkEqSettings({ bands: [{ type: 'peaking', frequency: 30000 }] }, 'msg.', 48000), /msg\.bands\[0\]\.frequency 30000 Hz is at or above the Nyquist frequency \(24000 Hz\)/);
    assert.throws(() => new Equalizer({ sampleRate: 22050, channels: 2, encoding: 'f32le' }, { bands: [{ type: 'highshelf', frequency: 16000, gain: 3 }], preamp: 0, bypass: false }), /bands\[0\]\.frequency 16000 Hz .* Nyquist/);
    const eq = new Equalizer(stereo, peak(3));
    assert.throws(() => eq.process(Buffer.alloc(12)), /msg\.payload: 12 bytes is not a whole number of 8-byte frames/);
    assert.throws(() => eq.process('pcm' as unknown as Buffer), /msg\.payload: expected a Buffer/);
    assert.throws(() => eq.update({ bands: [{ type: 'peaking', frequency: 25000 }], preamp: 0, bypass: false }), /Nyquist/);
    // The failed update left the filter as it was.
    const x = f32([noise(480, 0.2, 9), noise(480, 0.2, 9)]);
    assert.ok(eq.process(x).equals(new Equalizer(stereo, peak(3)).process(x)), 'a refused update changed the filter');
  });
});

describe('eq settings from flows', () => {
  it('accepts numeric strings and names non-numeric ones', () => {
    const next = mergeEqSettings({ bands: [], preamp: 0, bypass: false }, { bands: [{ type: 'peaking', frequency: '1000', gain: '-3', q: '2' }], preamp: '-1.5' });
    assert.deepStrictEqual(next.bands, [{ type: 'peaking', frequency: 1000, gain: -3, q: 2 }]);
    assert.strictEqual(next.preamp, -1.5);
    assert.throws(() => mergeEqSettings(next, { bands: [{ type: 'peaking', frequency: 'loud' }] }), /msg\.bands\[0\]\.frequency must be a number of Hz > 0 \(got "loud"\)/);
    assert.throws(() => mergeEqSettings(next, { bands: [{ type: 'peaking', frequency: 1000, q: NaN }] }), /msg\.bands\[0\]\.q .*\(got NaN\)/);
  });
});

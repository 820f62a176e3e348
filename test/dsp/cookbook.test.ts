import assert from 'assert';
import { Band, BAND_TYPES, checkBand, designBand, magnitudeDb, responseDb } from '../../src/dsp/cookbook';
import { graphicBands, PRESETS } from '../../src/dsp/presets';

/** |H(e^jω)| in dB evaluated directly from the transfer function (complex arithmetic). */
function directDb(band: Band, f: number, fs: number): number {
  const c = designBand(band, fs);
  const w = (2 * Math.PI * f) / fs;
  const re = (p0: number, p1: number, p2: number) => p0 + p1 * Math.cos(w) + p2 * Math.cos(2 * w);
  const im = (p1: number, p2: number) => -(p1 * Math.sin(w) + p2 * Math.sin(2 * w));
  const num = Math.hypot(re(c.b0, c.b1, c.b2), im(c.b1, c.b2));
  const den = Math.hypot(re(1, c.a1, c.a2), im(c.a1, c.a2));
  return 20 * Math.log10(num / den);
}

describe('RBJ cookbook design (src/dsp/cookbook.ts)', () => {
  const fs = 48000;

  it('the closed-form magnitude equals |H(e^jω)| for every type', () => {
    for (const type of BAND_TYPES) {
      for (const band of [
        { type, frequency: 1000, gain: 6, q: 2 },
        { type, frequency: 80, gain: -9, q: 0.5 },
        { type, frequency: 12000, gain: 3, q: 1 },
      ] as Band[]) {
        for (const f of [20, 100, 999, 1000, 5000, 15000, 21000]) {
          const a = magnitudeDb(designBand(band, fs), f, fs);
          const b = directDb(band, f, fs);
          if (Math.abs(b) > 200 || !Number.isFinite(a)) continue; // a notch's exact zero
          assert.ok(Math.abs(a - b) < 1e-6, `${type} ${band.frequency} Hz at ${f} Hz: ${a} vs ${b}`);
        }
      }
    }
  });

  it('has the textbook values at the band frequency and the ends', () => {
    const at = (band: Band, f: number) => magnitudeDb(designBand(band, fs), f, fs);
    assert.ok(Math.abs(at({ type: 'peaking', frequency: 1000, gain: 7.5, q: 3 }, 1000) - 7.5) < 1e-9);
    assert.ok(Math.abs(at({ type: 'lowshelf', frequency: 200, gain: 6, slope: 1 }, 1) - 6) < 1e-3);
    assert.ok(Math.abs(at({ type: 'lowshelf', frequency: 200, gain: 6, slope: 1 }, 23999)) < 1e-3);
    assert.ok(Math.abs(at({ type: 'lowshelf', frequency: 200, gain: 6, slope: 1 }, 200) - 3) < 1e-6, 'shelf midpoint is gain/2');
    assert.ok(Math.abs(at({ type: 'highshelf', frequency: 4000, gain: -8, slope: 1 }, 23999) + 8) < 1e-3);
    assert.ok(Math.abs(at({ type: 'lowpass', frequency: 1000, q: Math.SQRT1_2 }, 1000) + 3.0103) < 1e-3);
    assert.ok(Math.abs(at({ type: 'highpass', frequency: 1000, q: Math.SQRT1_2 }, 1000) + 3.0103) < 1e-3);
    assert.ok(Math.abs(at({ type: 'bandpass', frequency: 1000, q: 4 }, 1000)) < 1e-9);
    assert.ok(at({ type: 'notch', frequency: 1000, q: 4 }, 1000) < -100);
  });

  it('adds the preamp and the bands in responseDb', () => {
    const bands: Band[] = [
      { type: 'peaking', frequency: 1000, gain: 6, q: 1 },
      { type: 'peaking', frequency: 1000, gain: -6, q: 1 },
    ];
    assert.ok(Math.abs(responseDb(bands, -2, 1000, fs) + 2) < 1e-9);
  });

  it('refuses bad bands with the field named', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ type: 'peaking', frequency: 1000, q: 0 }, /bands\[0\]\.q/],
      [{ type: 'peaking', frequency: 1000, q: -1 }, /bands\[0\]\.q/],
      [{ type: 'peaking', frequency: NaN }, /bands\[0\]\.frequency/],
      [{ type: 'peaking', frequency: 24000 }, /bands\[0\]\.frequency 24000 Hz is at or above the Nyquist/],
      [{ type: 'peaking', frequency: 1000, gain: Infinity }, /bands\[0\]\.gain/],
      [{ type: 'wobble', frequency: 1000 }, /bands\[0\]\.type/],
      [{ type: 'peaking', frequency: 1000, slope: 1 }, /bands\[0\]\.slope/],
      [{ type: 'lowshelf', frequency: 100, gain: 20, slope: 9 }, /bands\[0\]\.slope .* too steep/],
      [null, /bands\[0\] must be an object/],
    ];
    for (const [band, pattern] of cases) {
      const error = checkBand(band, 0, fs);
      assert.ok(error && pattern.test(error), `${JSON.stringify(band)} → ${error}`);
      assert.throws(() => designBand(band as Band, fs), pattern);
    }
    assert.strictEqual(checkBand({ type: 'peaking', frequency: 1000, gain: 3, q: 1 }, 0, fs), null);
  });

  it('has a 10-band graphic preset from 31 Hz to 16 kHz with shelves at both ends', () => {
    const bands = graphicBands([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepStrictEqual(bands.map((b) => b.frequency), [31, 62, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]);
    assert.strictEqual(bands[0].type, 'lowshelf');
    assert.strictEqual(bands[9].type, 'highshelf');
    assert.ok(bands.slice(1, 9).every((b) => b.type === 'peaking'));
    for (const [id, preset] of Object.entries(PRESETS)) {
      preset.bands.forEach((b, i) => assert.strictEqual(checkBand(b, i, 44100), null, `${id} band ${i}`));
    }
  });
});

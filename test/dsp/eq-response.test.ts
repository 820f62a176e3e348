/**
 * The native eq against the cookbook's analytic response: stepped sines through Equalizer,
 * 10 ms chunks, amplitude by least squares after the filter has settled.
 */
import assert from 'assert';
import { Band, magnitudeDb, designBand } from '../../src/dsp/cookbook';
import { Equalizer } from '../../src/dsp/equalizer';
import { AudioFormat } from '../../src/format';
import { channel, f32, logFrequencies, s16, sine, sineAmplitude } from './signals';

function run(eq: Equalizer, input: Buffer): Buffer {
  const frameBytes = eq.format.channels * (eq.format.encoding === 's16le' ? 2 : 4);
  const chunk = Math.round(eq.format.sampleRate / 100) * frameBytes;
  const out = Buffer.alloc(input.length);
  for (let at = 0; at < input.length; at += chunk) {
    eq.process(input.subarray(at, at + chunk), out.subarray(at, Math.min(at + chunk, input.length)));
  }
  return out;
}

/** Measured minus analytic (dB) at every test frequency, or the linear error near a zero. */
function sweep(band: Band, format: AudioFormat, points = 24): void {
  const fs = format.sampleRate;
  const coefficients = designBand(band, fs);
  const frames = Math.round(fs * 0.75);
  const settle = Math.round(fs * 0.5);
  for (const f of logFrequencies(20, 0.45 * fs, points)) {
    const eq = new Equalizer(format, { bands: [band], preamp: 0, bypass: false });
    const left = sine(f, fs, frames, 0.5);
    const right = sine(f, fs, frames, 0.125);
    const input = format.channels === 2 ? [left, right] : [left];
    const out = run(eq, format.encoding === 'f32le' ? f32(input) : s16(input));
    const expectedDb = magnitudeDb(coefficients, f, fs);
    for (let c = 0; c < format.channels; c++) {
      const amplitude = c === 0 ? 0.5 : 0.125;
      const measured = sineAmplitude(channel(out, format, c), f, fs, settle) / amplitude;
      const what = `${band.type} ${band.frequency} Hz (${format.encoding} ${format.channels} ch ${fs} Hz) at ${f.toFixed(1)} Hz, channel ${c}`;
      if (expectedDb > -60) {
        const error = 20 * Math.log10(measured) - expectedDb;
        // s16 rounding noise limits the accuracy of small outputs
        const tolerance = format.encoding === 's16le' && expectedDb < -30 ? 0.5 : 0.1;
        assert.ok(Math.abs(error) <= tolerance, `${what}: measured ${(20 * Math.log10(measured)).toFixed(4)} dB, cookbook ${expectedDb.toFixed(4)} dB`);
      } else {
        assert.ok(Math.abs(measured - Math.pow(10, expectedDb / 20)) < 2e-3, `${what}: measured ${measured}, cookbook ${expectedDb} dB`);
      }
    }
  }
}

describe('eq magnitude response against the RBJ cookbook (20 Hz … 0.45·fs, ±0.1 dB)', function () {
  this.timeout(120000);
  const stereo48: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 'f32le' };
  const cases: Band[] = [
    { type: 'peaking', frequency: 1000, gain: 9, q: 2 },
    { type: 'peaking', frequency: 60, gain: -12, q: 0.7 },
    { type: 'lowshelf', frequency: 100, gain: 6, slope: 1 },
    { type: 'lowshelf', frequency: 300, gain: -10, q: 0.9 },
    { type: 'highshelf', frequency: 5000, gain: 8, slope: 0.5 },
    { type: 'lowpass', frequency: 3000, q: Math.SQRT1_2 },
    { type: 'lowpass', frequency: 15000, q: 4 },
    { type: 'highpass', frequency: 80, q: Math.SQRT1_2 },
    { type: 'bandpass', frequency: 1000, q: 1.5 },
    { type: 'notch', frequency: 60, q: 5 },
    { type: 'notch', frequency: 8000, q: 2 },
  ];
  for (const band of cases) {
    it(`${band.type} at ${band.frequency} Hz (f32le stereo 48 kHz)`, () => sweep(band, stereo48));
  }
  it('peaking at 44.1 kHz, mono', () => sweep({ type: 'peaking', frequency: 2500, gain: -6, q: 1 }, { sampleRate: 44100, channels: 1, encoding: 'f32le' }));
  it('high shelf at 96 kHz, stereo', () => sweep({ type: 'highshelf', frequency: 10000, gain: 5, slope: 1 }, { sampleRate: 96000, channels: 2, encoding: 'f32le' }, 12));
  it('peaking with s16le stereo', () => sweep({ type: 'peaking', frequency: 400, gain: 6, q: 1 }, { sampleRate: 48000, channels: 2, encoding: 's16le' }, 12));

  it('a 10-band chain matches the sum of its bands in dB', () => {
    const fs = 48000;
    const bands: Band[] = [31, 62, 125, 250, 500, 1000, 2000, 4000, 8000, 16000].map((f, i) => ({
      type: i === 0 ? 'lowshelf' : i === 9 ? 'highshelf' : 'peaking',
      frequency: f,
      gain: [4, -3, 2, -1, 5, -6, 3, -2, 6, -4][i],
      ...(i === 0 || i === 9 ? { slope: 1 } : { q: 1.41 }),
    })) as Band[];
    for (const f of logFrequencies(20, 0.45 * fs, 16)) {
      const eq = new Equalizer(stereo48, { bands, preamp: -3, bypass: false });
      const x = sine(f, fs, fs, 0.25);
      const out = run(eq, f32([x, x]));
      const expected = -3 + bands.reduce((sum, b) => sum + magnitudeDb(designBand(b, fs), f, fs), 0);
      const measured = 20 * Math.log10(sineAmplitude(channel(out, stereo48, 1), f, fs, fs / 2) / 0.25);
      assert.ok(Math.abs(measured - expected) <= 0.1, `at ${f.toFixed(1)} Hz: ${measured} vs ${expected}`);
    }
  });

  it('keeps the channels apart', () => {
    const fs = 48000;
    const eq = new Equalizer(stereo48, { bands: [{ type: 'peaking', frequency: 1000, gain: 12, q: 1 }], preamp: 0, bypass: false });
    const out = run(eq, f32([sine(1000, fs, 4800, 0.5), new Float64Array(4800)]));
    assert.ok(channel(out, stereo48, 1).every((v) => v === 0));
    assert.ok(sineAmplitude(channel(out, stereo48, 0), 1000, fs, 2400) > 1.9);
  });
});

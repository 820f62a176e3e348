/** The native cascade against the TypeScript reference, for every chain length it groups. */
import assert from 'assert';
import { Band, BAND_TYPES } from '../../src/dsp/cookbook';
import { Equalizer } from '../../src/dsp/equalizer';
import { referenceCascade } from './reference';
import { AudioFormat } from '../../src/format';
import { noise } from './signals';

function randomBands(count: number, seed: number): Band[] {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: count }, () => {
    const type = BAND_TYPES[Math.floor(next() * BAND_TYPES.length)];
    // Mild enough that a long chain keeps some signal in s16: low-passes high, high-passes low.
    const frequency = type === 'lowpass' ? 4000 + 12000 * next() : type === 'highpass' ? 20 + 200 * next() : 30 * Math.pow(600, next());
    const q = type === 'bandpass' ? 0.3 + 0.5 * next() : 0.3 + 4 * next();
    return { type, frequency, gain: -12 + 24 * next(), q } as Band;
  });
}

describe('native cascade against the TypeScript reference', () => {
  for (const channels of [1, 2] as const) {
    it(`1 to 16 bands, ${channels} channel(s), s16le and f32le`, () => {
      for (let count = 1; count <= 16; count++) {
        const bands = randomBands(count, count * 7 + channels);
        const samples = noise(4000 * channels, 0.2, count);
        const reference = referenceCascade(bands, -3, 48000, channels, samples);
        for (const encoding of ['f32le', 's16le'] as const) {
          const format: AudioFormat = { sampleRate: 48000, channels, encoding };
          const input = Buffer.alloc(samples.length * (encoding === 'f32le' ? 4 : 2));
          samples.forEach((v, i) => (encoding === 'f32le' ? input.writeFloatLE(v, i * 4) : input.writeInt16LE(Math.round(v * 32767), i * 2)));
          const exact = encoding === 'f32le' ? referenceCascade(bands, -3, 48000, channels, Array.from(samples, Math.fround)) : referenceCascade(bands, -3, 48000, channels, Array.from(samples, (v) => Math.round(v * 32767)));
          const out = new Equalizer(format, { bands, preamp: -3, bypass: false }).process(input);
          let err = 0, ref = 0;
          for (let i = 0; i < samples.length; i++) {
            const got = encoding === 'f32le' ? out.readFloatLE(i * 4) : out.readInt16LE(i * 2);
            const want = encoding === 'f32le' ? Math.fround(exact[i]) : Math.max(-32768, Math.min(32767, Math.round(exact[i])));
            err = Math.max(err, Math.abs(got - want));
            ref = Math.max(ref, Math.abs(want));
          }
          const tolerance = encoding === 'f32le' ? ref * 1e-6 : 1;
          assert.ok(err <= tolerance, `${count} bands ${channels} ch ${encoding}: error ${err} (peak ${ref})`);
          assert.ok(ref > 0 && reference.length === samples.length, `${count} bands ${channels} ch ${encoding}: silent output`);
        }
      }
    });
  }
});

/**
 * A plain TypeScript biquad cascade (Direct Form I, double precision), the reference the
 * native cascade is tested against. Not used on the audio path.
 */
import { Band, dbToGain, designBand } from '../../src/dsp/cookbook';

/**
 * Filters interleaved samples (channels 1 or 2, any length of whole frames) through the
 * preamp (dB) and the bands designed for `sampleRate` (Hz), from silence. Returns new samples.
 */
export function referenceCascade(bands: readonly Band[], preampDb: number, sampleRate: number, channels: number, input: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(input);
  const gain = dbToGain(preampDb);
  for (let i = 0; i < out.length; i++) out[i] *= gain;
  bands.forEach((band, index) => {
    const { b0, b1, b2, a1, a2 } = designBand(band, sampleRate, index);
    for (let c = 0; c < channels; c++) {
      let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
      for (let i = c; i < out.length; i += channels) {
        const x = out[i];
        const y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1;
        x1 = x;
        y2 = y1;
        y1 = y;
        out[i] = y;
      }
    }
  });
  return out;
}

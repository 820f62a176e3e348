/** Test signals and measurements for the DSP tests. */
import { AudioFormat } from '../../src/format';

/** Interleaved f32le PCM from per-channel sample arrays (all the same length). */
export function f32(channels: ArrayLike<number>[]): Buffer {
  const frames = channels[0].length;
  const out = Buffer.alloc(frames * channels.length * 4);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels.length; c++) out.writeFloatLE(channels[c][i], (i * channels.length + c) * 4);
  }
  return out;
}

/** Interleaved s16le PCM from per-channel sample arrays in full-scale units (±1 → ±32767). */
export function s16(channels: ArrayLike<number>[]): Buffer {
  const frames = channels[0].length;
  const out = Buffer.alloc(frames * channels.length * 2);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels.length; c++) {
      out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(channels[c][i] * 32767))), (i * channels.length + c) * 2);
    }
  }
  return out;
}

/** One channel of interleaved PCM as numbers in full-scale units. */
export function channel(pcm: Buffer, format: Pick<AudioFormat, 'channels' | 'encoding'>, c = 0): Float64Array {
  const bytes = format.encoding === 's16le' ? 2 : 4;
  const frames = pcm.length / (bytes * format.channels);
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    const at = (i * format.channels + c) * bytes;
    out[i] = format.encoding === 's16le' ? pcm.readInt16LE(at) / 32767 : pcm.readFloatLE(at);
  }
  return out;
}

export function sine(frequency: number, sampleRate: number, frames: number, amplitude = 0.5): Float64Array {
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  return out;
}

/** Deterministic white noise in ±amplitude (xorshift32), so failures reproduce. */
export function noise(frames: number, amplitude = 0.25, seed = 12345): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 * amplitude - amplitude;
  }
  return out;
}

/**
 * Amplitude of the `frequency` component of x[from..], by a least-squares fit of
 * a·sin + b·cos (exact for a pure sinusoid of that frequency, whatever the window length).
 */
export function sineAmplitude(x: Float64Array, frequency: number, sampleRate: number, from = 0): number {
  let ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (let i = from; i < x.length; i++) {
    const w = (2 * Math.PI * frequency * i) / sampleRate;
    const s = Math.sin(w);
    const c = Math.cos(w);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[i] * s;
    xc += x[i] * c;
  }
  const det = ss * cc - sc * sc;
  const a = (xs * cc - xc * sc) / det;
  const b = (xc * ss - xs * sc) / det;
  return Math.hypot(a, b);
}

export function rms(x: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / x.length);
}

/** Frequencies from `lo` to `hi` Hz, `count` of them, evenly spaced on a log scale. */
export function logFrequencies(lo: number, hi: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => lo * Math.pow(hi / lo, i / (count - 1)));
}

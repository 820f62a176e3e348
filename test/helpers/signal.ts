/** Signal measurements for tests: tone amplitude by the Goertzel algorithm. */

/** Samples of one channel of interleaved PCM, as floats in -1..1. */
export function channelSamples(pcm: Buffer, encoding: 's16le' | 'f32le', channels: number, channel = 0): Float64Array {
  const bytes = encoding === 's16le' ? 2 : 4;
  const frames = Math.floor(pcm.length / (bytes * channels));
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    const at = (i * channels + channel) * bytes;
    out[i] = encoding === 's16le' ? pcm.readInt16LE(at) / 32768 : pcm.readFloatLE(at);
  }
  return out;
}

/**
 * Peak amplitude of the `freq` component of `x` (a sine of peak A reads ≈ A), by the Goertzel
 * algorithm over a Hann window (G. Goertzel, "An Algorithm for the Evaluation of Finite
 * Trigonometric Series", 1958; the window keeps other tones' leakage far below −60 dB).
 */
export function toneAmplitude(x: Float64Array, freq: number, rate: number): number {
  const n = x.length;
  if (n === 0) return 0;
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const s0 = x[i] * w + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  // Hann window's coherent gain is 0.5.
  return (2 * Math.sqrt(Math.max(power, 0))) / (n * 0.5);
}

/** Level in dB relative to a reference amplitude. */
export function db(amplitude: number, reference = 1): number {
  return 20 * Math.log10(Math.max(amplitude, 1e-12) / reference);
}

/**
 * The median over 100 ms windows of a tone's amplitude: robust against a few windows where a
 * player, starved of CPU on a loaded machine, played silence.
 */
export function medianToneAmplitude(x: Float64Array, freq: number, rate: number, windowMs = 100): number {
  const size = Math.round((rate * windowMs) / 1000);
  const levels: number[] = [];
  for (let at = 0; at + size <= x.length; at += size) levels.push(toneAmplitude(x.subarray(at, at + size), freq, rate));
  if (levels.length === 0) return 0;
  levels.sort((p, q) => p - q);
  return levels[Math.floor(levels.length / 2)];
}

/** Bursts of white noise (deterministic, from `seed`): `onMs` every `periodMs`, stereo s16le at 48 kHz. */
export function noiseBursts(seed: number, seconds: number, onMs: number, periodMs: number, amplitude = 0.25): Buffer {
  const frames = seconds * 48000;
  const out = Buffer.alloc(frames * 4);
  let state = seed;
  for (let i = 0; i < frames; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    if (i % ((periodMs * 48000) / 1000) >= (onMs * 48000) / 1000) continue;
    const v = Math.round(((state / 2 ** 32) * 2 - 1) * amplitude * 32767);
    out.writeInt16LE(v, i * 4);
    out.writeInt16LE(v, i * 4 + 2);
  }
  return out;
}

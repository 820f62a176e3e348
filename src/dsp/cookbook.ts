/**
 * Biquad design from Robert Bristow-Johnson's "Cookbook formulae for audio EQ biquad filter
 * coefficients" (Audio EQ Cookbook, W3C Note edition, https://www.w3.org/TR/audio-eq-cookbook/).
 *
 * This is the reference implementation: the eq node designs its filters here and hands the
 * coefficients to the native cascade, the editor draws its curve from it (the file is served
 * to the browser as is, so it must not import anything at run time), and the tests compare
 * measured responses against `magnitudeDb`.
 */

/** The cookbook's filter types. */
export type BandType =
  | 'peaking'
  | 'lowshelf'
  | 'highshelf'
  | 'lowpass'
  | 'highpass'
  | 'bandpass'
  | 'notch';

export const BAND_TYPES: readonly BandType[] = [
  'peaking',
  'lowshelf',
  'highshelf',
  'lowpass',
  'highpass',
  'bandpass',
  'notch',
];

/** Types whose `gain` is used; the others ignore it. */
export const GAIN_TYPES: readonly BandType[] = ['peaking', 'lowshelf', 'highshelf'];

/**
 * One band of a parametric equaliser.
 * - frequency: centre / corner / shelf midpoint frequency, Hz, 0 < f < sampleRate / 2.
 * - gain: dB, for peaking and shelves (ignored by the other types), -48..48.
 * - q: quality factor, > 0 (0.01..100). Default 1 for peaking, 1/√2 for the others.
 * - slope: shelf slope S (shelves only; used instead of q when given), > 0; S = 1 is the
 *   steepest shelf without overshoot.
 * - enabled: false makes the band the identity (default true).
 * - bandpass is the cookbook's "constant 0 dB peak gain" band-pass.
 */
export interface Band {
  type: BandType;
  frequency: number;
  gain?: number;
  q?: number;
  slope?: number;
  enabled?: boolean;
}

/** Normalised biquad coefficients (a0 = 1): H(z) = (b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²). */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

export const LIMITS = {
  gainDb: 48,
  preampDb: 48,
  qMin: 0.01,
  qMax: 100,
  slopeMax: 10,
  maxBands: 32,
} as const;

export const IDENTITY: Biquad = { b0: 1, b1: 0, b2: 0, a1: 0, a2: 0 };

function defaultQ(type: BandType): number {
  return type === 'peaking' ? 1 : Math.SQRT1_2;
}

/** A value as an error message shows it: strings quoted, NaN as NaN. */
function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Checks one band. Returns an error message naming the field (e.g. "bands[2].q must be a
 * number > 0 (got 0)") or null when the band is usable. With `sampleRate`, the frequency is
 * also checked against the Nyquist frequency.
 */
export function checkBand(band: unknown, index: number, sampleRate?: number): string | null {
  const at = `bands[${index}]`;
  if (band === null || typeof band !== 'object') return `${at} must be an object`;
  const b = band as Record<string, unknown>;
  if (typeof b.type !== 'string' || !BAND_TYPES.includes(b.type as BandType)) {
    return `${at}.type must be one of ${BAND_TYPES.join(', ')} (got ${JSON.stringify(b.type)})`;
  }
  if (!isNumber(b.frequency) || b.frequency <= 0) {
    return `${at}.frequency must be a number of Hz > 0 (got ${show(b.frequency)})`;
  }
  if (sampleRate !== undefined && b.frequency >= sampleRate / 2) {
    return (
      `${at}.frequency ${b.frequency} Hz is at or above the Nyquist frequency ` +
      `(${sampleRate / 2} Hz) of this ${sampleRate} Hz stream`
    );
  }
  if (b.gain !== undefined && (!isNumber(b.gain) || Math.abs(b.gain) > LIMITS.gainDb)) {
    return `${at}.gain must be a number of dB in -${LIMITS.gainDb}..${LIMITS.gainDb} (got ${show(b.gain)})`;
  }
  if (b.q !== undefined && (!isNumber(b.q) || b.q < LIMITS.qMin || b.q > LIMITS.qMax)) {
    return `${at}.q must be a number in ${LIMITS.qMin}..${LIMITS.qMax}, > 0 (got ${show(b.q)})`;
  }
  if (b.slope !== undefined) {
    if (b.type !== 'lowshelf' && b.type !== 'highshelf') {
      return `${at}.slope is only for lowshelf and highshelf bands; use q for ${b.type}`;
    }
    if (!isNumber(b.slope) || b.slope <= 0 || b.slope > LIMITS.slopeMax) {
      return `${at}.slope must be a number in 0..${LIMITS.slopeMax}, > 0 (got ${show(b.slope)})`;
    }
    const A = Math.pow(10, ((b.gain as number | undefined) ?? 0) / 40);
    if ((A + 1 / A) * (1 / b.slope - 1) + 2 < 0) {
      return `${at}.slope ${b.slope} is too steep for a gain of ${String(b.gain ?? 0)} dB; lower it`;
    }
  }
  if (b.enabled !== undefined && typeof b.enabled !== 'boolean') {
    return `${at}.enabled must be true or false`;
  }
  return null;
}

/**
 * Designs one band for a sample rate (Hz). The band must pass `checkBand` first; this
 * function throws RangeError (with the band's field) if it does not.
 */
export function designBand(band: Band, sampleRate: number, index = 0): Biquad {
  const error = checkBand(band, index, sampleRate);
  if (error) throw new RangeError(error);
  if (band.enabled === false) return { ...IDENTITY };
  const w0 = (2 * Math.PI * band.frequency) / sampleRate;
  const cos = Math.cos(w0);
  const sin = Math.sin(w0);
  const A = Math.pow(10, (band.gain ?? 0) / 40);
  const shelf = band.type === 'lowshelf' || band.type === 'highshelf';
  const alpha =
    shelf && band.slope !== undefined
      ? (sin / 2) * Math.sqrt((A + 1 / A) * (1 / band.slope - 1) + 2)
      : sin / (2 * (band.q ?? defaultQ(band.type)));
  let b0: number, b1: number, b2: number, a0: number, a1: number, a2: number;
  switch (band.type) {
    case 'lowpass':
      b0 = (1 - cos) / 2;
      b1 = 1 - cos;
      b2 = (1 - cos) / 2;
      a0 = 1 + alpha;
      a1 = -2 * cos;
      a2 = 1 - alpha;
      break;
    case 'highpass':
      b0 = (1 + cos) / 2;
      b1 = -(1 + cos);
      b2 = (1 + cos) / 2;
      a0 = 1 + alpha;
      a1 = -2 * cos;
      a2 = 1 - alpha;
      break;
    case 'bandpass':
      b0 = alpha;
      b1 = 0;
      b2 = -alpha;
      a0 = 1 + alpha;
      a1 = -2 * cos;
      a2 = 1 - alpha;
      break;
    case 'notch':
      b0 = 1;
      b1 = -2 * cos;
      b2 = 1;
      a0 = 1 + alpha;
      a1 = -2 * cos;
      a2 = 1 - alpha;
      break;
    case 'peaking':
      b0 = 1 + alpha * A;
      b1 = -2 * cos;
      b2 = 1 - alpha * A;
      a0 = 1 + alpha / A;
      a1 = -2 * cos;
      a2 = 1 - alpha / A;
      break;
    case 'lowshelf': {
      const k = 2 * Math.sqrt(A) * alpha;
      b0 = A * (A + 1 - (A - 1) * cos + k);
      b1 = 2 * A * (A - 1 - (A + 1) * cos);
      b2 = A * (A + 1 - (A - 1) * cos - k);
      a0 = A + 1 + (A - 1) * cos + k;
      a1 = -2 * (A - 1 + (A + 1) * cos);
      a2 = A + 1 + (A - 1) * cos - k;
      break;
    }
    case 'highshelf': {
      const k = 2 * Math.sqrt(A) * alpha;
      b0 = A * (A + 1 + (A - 1) * cos + k);
      b1 = -2 * A * (A - 1 + (A + 1) * cos);
      b2 = A * (A + 1 + (A - 1) * cos - k);
      a0 = A + 1 - (A - 1) * cos + k;
      a1 = 2 * (A - 1 - (A + 1) * cos);
      a2 = A + 1 - (A - 1) * cos - k;
      break;
    }
  }
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

/**
 * Magnitude of one biquad at `frequency` Hz, in dB, from the cookbook's closed form
 * (with φ = sin²(ω/2), which stays accurate at low frequencies):
 * 10·log10[(b0+b1+b2)² − 4(b0b1 + 4b0b2 + b1b2)φ + 16b0b2φ²]
 * − 10·log10[(1+a1+a2)² − 4(a1 + 4a2 + a1a2)φ + 16a2φ²].
 * Returns -Infinity at an exact zero (a notch's centre).
 */
export function magnitudeDb(f: Biquad, frequency: number, sampleRate: number): number {
  const s = Math.sin((Math.PI * frequency) / sampleRate);
  const phi = s * s;
  const { b0, b1, b2, a1, a2 } = f;
  const num =
    (b0 + b1 + b2) ** 2 - 4 * (b0 * b1 + 4 * b0 * b2 + b1 * b2) * phi + 16 * b0 * b2 * phi * phi;
  const den = (1 + a1 + a2) ** 2 - 4 * (a1 + 4 * a2 + a1 * a2) * phi + 16 * a2 * phi * phi;
  return 10 * Math.log10(Math.max(num, 0)) - 10 * Math.log10(den);
}

/** Combined magnitude (dB) of a preamp (dB) and a cascade of bands at `frequency` Hz. */
export function responseDb(
  bands: readonly Band[],
  preampDb: number,
  frequency: number,
  sampleRate: number,
): number {
  let db = preampDb;
  bands.forEach((band, i) => {
    db += magnitudeDb(designBand(band, sampleRate, i), frequency, sampleRate);
  });
  return db;
}

/** Designs every band; returns stages*5 normalised coefficients (b0 b1 b2 a1 a2 per stage). */
export function designCascade(bands: readonly Band[], sampleRate: number): Float64Array {
  const out = new Float64Array(bands.length * 5);
  bands.forEach((band, i) => {
    const f = designBand(band, sampleRate, i);
    out.set([f.b0, f.b1, f.b2, f.a1, f.a2], i * 5);
  });
  return out;
}

/** dB → linear amplitude ratio. */
export function dbToGain(db: number): number {
  return Math.pow(10, db / 20);
}

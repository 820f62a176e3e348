/**
 * The soft clipper of the soft-clip node, usable without Node-RED. The curve is
 * y = x for |x| ≤ t and y = sign(x)·(t + (c − t)·tanh((|x| − t)/(c − t))) above, with
 * threshold t and ceiling c in full-scale units: continuous with slope 1 at t, strictly
 * increasing, always below c. The gain (the plain volume) is applied before the curve so the
 * ceiling holds whatever the gain.
 */
import { dbToGain } from './cookbook';
import { loadDsp, NativeSoftClipProcessor } from './native';
import { AudioFormat } from '../format';
import { asNumberOrInfinity } from '../numbers';
import { DEFAULT_RAMP_MS, dspChannels, RampedStream } from './ramped-stream';

/** gain: dB (volume, before the curve); threshold, ceiling: dBFS, threshold < ceiling ≤ 0. */
export interface SoftClipSettings {
  gain: number;
  threshold: number;
  ceiling: number;
}

export const SOFT_CLIP_DEFAULTS: SoftClipSettings = { gain: 0, threshold: -3, ceiling: 0 };
export const SOFT_CLIP_LIMITS = { gainDb: 48, thresholdMinDb: -60 } as const;

/** The curve, for one sample in full-scale units (reference for tests and the editor). */
export function softClipCurve(x: number, threshold: number, ceiling: number): number {
  const a = Math.abs(x);
  if (a <= threshold) return x;
  const knee = ceiling - threshold;
  return Math.sign(x) * Math.min(threshold + knee * Math.tanh((a - threshold) / knee), ceiling);
}

/**
 * Checks settings; `prefix` names the source ('msg.' or ''). Throws RangeError naming the
 * field: gain −48..48 dB; threshold −60..0 dBFS; ceiling ≤ 0 dBFS and above the threshold.
 */
export function checkSoftClipSettings(s: Partial<Record<keyof SoftClipSettings, unknown>>, prefix = ''): void {
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (s.gain !== undefined && (!num(s.gain) || Math.abs(s.gain as number) > SOFT_CLIP_LIMITS.gainDb)) {
    throw new RangeError(`${prefix}gain must be a number of dB in -48..48 (got ${String(s.gain)})`);
  }
  if (s.threshold !== undefined && (!num(s.threshold) || (s.threshold as number) < -60 || (s.threshold as number) > 0)) {
    throw new RangeError(`${prefix}threshold must be a number of dBFS in -60..0 (got ${String(s.threshold)})`);
  }
  if (s.ceiling !== undefined && (!num(s.ceiling) || (s.ceiling as number) > 0 || (s.ceiling as number) < -60)) {
    throw new RangeError(`${prefix}ceiling must be a number of dBFS in -60..0 (got ${String(s.ceiling)})`);
  }
  if (num(s.threshold) && num(s.ceiling) && (s.ceiling as number) <= (s.threshold as number)) {
    throw new RangeError(`${prefix}ceiling (${String(s.ceiling)} dBFS) must be above threshold (${String(s.threshold)} dBFS)`);
  }
}

/** One stream's soft clipper. */
export class SoftClipper extends RampedStream<SoftClipSettings, NativeSoftClipProcessor> {
  /**
   * @param rampMs time (ms, 0..1000) over which later update() calls move the settings
   * @throws RangeError naming the field for settings out of range
   */
  constructor(format: AudioFormat, settings: SoftClipSettings, rampMs = DEFAULT_RAMP_MS) {
    super(format, new (loadDsp().SoftClipProcessor)(dspChannels(format)), settings, rampMs);
  }

  /** Moves to new settings (checked; throws RangeError naming the field). */
  update(settings: SoftClipSettings, ramp = true): void {
    checkSoftClipSettings(settings);
    this.processor.setTarget(
      dbToGain(settings.gain),
      dbToGain(settings.threshold),
      dbToGain(settings.ceiling),
      ramp ? this.rampFrames : 0,
    );
  }
}

/**
 * Settings after applying msg.gain / msg.threshold / msg.ceiling (or config fields) to
 * `current`; numeric strings accepted. Throws RangeError naming the field.
 */
export function mergeSoftClipSettings(
  current: SoftClipSettings,
  patch: { gain?: unknown; threshold?: unknown; ceiling?: unknown },
  prefix = 'msg.',
): SoftClipSettings {
  const num = (v: unknown) => (typeof v === 'string' ? (asNumberOrInfinity(v) ?? v) : v);
  const gain = num(patch.gain);
  const threshold = num(patch.threshold);
  const ceiling = num(patch.ceiling);
  checkSoftClipSettings({ gain, threshold, ceiling }, prefix);
  const next: SoftClipSettings = {
    gain: gain === undefined ? current.gain : (gain as number),
    threshold: threshold === undefined ? current.threshold : (threshold as number),
    ceiling: ceiling === undefined ? current.ceiling : (ceiling as number),
  };
  if (next.ceiling <= next.threshold) {
    throw new RangeError(`${prefix}ceiling (${next.ceiling} dBFS) must be above threshold (${next.threshold} dBFS)`);
  }
  return next;
}

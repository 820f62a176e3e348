/**
 * The parametric equaliser of the eq node, usable without Node-RED: RBJ cookbook bands
 * (cookbook.ts) run by the native Direct Form I cascade, one Equalizer per stream.
 */
import { Band, checkBand, dbToGain, designCascade, LIMITS } from './cookbook';
import { PRESETS } from './presets';
import { loadDsp, NativeEqProcessor } from './native';
import { AudioFormat } from '../format';
import { asNumberOrInfinity } from '../numbers';
import { DEFAULT_RAMP_MS, dspChannels, RampedStream } from './ramped-stream';

/** Equaliser settings: bands in cascade order, preamp in dB (applied first), bypass. */
export interface EqSettings {
  bands: Band[];
  preamp: number;
  bypass: boolean;
}


/**
 * Checks a complete or partial settings object. `prefix` names where it came from
 * ('msg.' or ''), so errors read "msg.bands[1].q must be …". With `sampleRate` the band
 * frequencies are also checked against its Nyquist frequency. Throws TypeError/RangeError.
 */
export function checkEqSettings(settings: Partial<Record<keyof EqSettings, unknown>>, prefix = '', sampleRate?: number): void {
  if (settings.bands !== undefined) {
    if (!Array.isArray(settings.bands)) {
      throw new TypeError(`${prefix}bands must be an array of bands ({ type, frequency, gain, q | slope })`);
    }
    if (settings.bands.length > LIMITS.maxBands) {
      throw new RangeError(`${prefix}bands has ${settings.bands.length} bands; at most ${LIMITS.maxBands}`);
    }
    settings.bands.forEach((band, i) => {
      const error = checkBand(band, i, sampleRate);
      if (error) throw new RangeError(prefix + error);
    });
  }
  if (settings.preamp !== undefined) {
    const p = settings.preamp;
    if (typeof p !== 'number' || !Number.isFinite(p) || Math.abs(p) > LIMITS.preampDb) {
      throw new RangeError(`${prefix}preamp must be a number of dB in -${LIMITS.preampDb}..${LIMITS.preampDb} (got ${String(p)})`);
    }
  }
  if (settings.bypass !== undefined && typeof settings.bypass !== 'boolean') {
    throw new TypeError(`${prefix}bypass must be true or false (got ${JSON.stringify(settings.bypass)})`);
  }
}

/** Copies bands keeping only the known fields (so a msg's extra properties are not kept). */
export function cleanBands(bands: readonly Band[]): Band[] {
  return bands.map((b) => {
    const band: Band = { type: b.type, frequency: b.frequency };
    if (b.gain !== undefined) band.gain = b.gain;
    if (b.q !== undefined) band.q = b.q;
    if (b.slope !== undefined) band.slope = b.slope;
    if (b.enabled !== undefined) band.enabled = b.enabled;
    return band;
  });
}

/**
 * One stream's equaliser. Keeps the filter memory between chunks; a new recording needs a
 * new Equalizer (or reset()).
 */
export class Equalizer extends RampedStream<EqSettings, NativeEqProcessor> {
  /**
   * @param format the stream's PCM format
   * @param settings initial settings, applied at once
   * @param rampMs time (ms, 0..1000) over which later update() calls move the filter
   * @throws RangeError naming the field when a band cannot be designed at this sample rate
   */
  constructor(format: AudioFormat, settings: EqSettings, rampMs = DEFAULT_RAMP_MS) {
    super(format, new (loadDsp().EqProcessor)(dspChannels(format)), settings, rampMs);
  }

  /**
   * Moves to new settings, ramped over the ramp time unless `ramp` is false. Throws
   * RangeError (and keeps the old settings) when a band cannot be designed at this rate.
   */
  update(settings: EqSettings, ramp = true): void {
    const frames = ramp ? this.rampFrames : 0;
    if (settings.bypass) {
      this.processor.setTarget(new Float64Array(0), 1, frames);
      return;
    }
    const active = settings.bands.filter((b) => b.enabled !== false);
    checkEqSettings({ bands: settings.bands }, '', this.format.sampleRate);
    this.processor.setTarget(designCascade(active, this.format.sampleRate), dbToGain(settings.preamp), frames);
  }

  get ramping(): boolean {
    return this.processor.ramping;
  }
}

/** A numeric string (as typed in a form or sent by a flow) becomes its number. */
function numeric(value: unknown): unknown {
  return typeof value === 'string' ? (asNumberOrInfinity(value) ?? value) : value;
}

function coerceBand(band: unknown): unknown {
  if (band === null || typeof band !== 'object') return band;
  const b = { ...(band as Record<string, unknown>) };
  for (const key of ['frequency', 'gain', 'q', 'slope']) if (b[key] !== undefined) b[key] = numeric(b[key]);
  return b;
}

/**
 * The settings that result from applying a control message (msg.preset, msg.bands,
 * msg.preamp, msg.bypass) or a node's config to `current`. A preset (an id of PRESETS)
 * replaces bands and preamp first; explicit fields override it. Numbers given as strings
 * (from the editor) are accepted. Throws TypeError/RangeError naming the field
 * (`prefix` + name), leaving `current` untouched.
 */
export function mergeEqSettings(
  current: EqSettings,
  patch: { preset?: unknown; bands?: unknown; preamp?: unknown; bypass?: unknown },
  prefix = 'msg.',
): EqSettings {
  const next: EqSettings = { bands: current.bands, preamp: current.preamp, bypass: current.bypass };
  if (patch.preset !== undefined && patch.preset !== '') {
    const preset = typeof patch.preset === 'string' ? PRESETS[patch.preset] : undefined;
    if (!preset) {
      throw new RangeError(`${prefix}preset must be one of ${Object.keys(PRESETS).join(', ')} (got ${JSON.stringify(patch.preset)})`);
    }
    next.bands = cleanBands(preset.bands);
    next.preamp = preset.preamp;
  }
  const preamp = numeric(patch.preamp);
  const bands = Array.isArray(patch.bands) ? patch.bands.map(coerceBand) : patch.bands;
  checkEqSettings({ bands, preamp, bypass: patch.bypass }, prefix);
  if (bands !== undefined) next.bands = cleanBands(bands as Band[]);
  if (preamp !== undefined) next.preamp = preamp as number;
  if (patch.bypass !== undefined) next.bypass = patch.bypass as boolean;
  return next;
}

/**
 * The DSP classes of the native addon (native/addon/dsp_binding.cc), loaded through src/binding.ts.
 */
import { loadBinding } from '../binding';

/** Native biquad cascade for one stream; see native/dsp/biquad_cascade.h. */
export interface NativeEqProcessor {
  /** coefficients: stages*5 normalised (b0 b1 b2 a1 a2); gain: linear; rampFrames: 0 = at once. */
  setTarget(coefficients: Float64Array, gain: number, rampFrames: number): void;
  /** Filters whole frames; encoding 0 = s16le, 1 = f32le. Returns non-finite samples replaced. */
  process(input: Uint8Array, output: Uint8Array, encoding: 0 | 1): number;
  reset(): void;
  readonly ramping: boolean;
}

/** Native soft clipper for one stream; see native/dsp/soft_clipper.h. */
export interface NativeSoftClipProcessor {
  /** gain, threshold, ceiling: linear (full scale 1.0); rampFrames: 0 = at once. */
  setTarget(gain: number, threshold: number, ceiling: number, rampFrames: number): void;
  process(input: Uint8Array, output: Uint8Array, encoding: 0 | 1): number;
  reset(): void;
}

export interface DspBinding {
  /** `channels`: samples per frame (the addon throws a RangeError for a count it cannot take). */
  EqProcessor: new (channels: number) => NativeEqProcessor;
  SoftClipProcessor: new (channels: number) => NativeSoftClipProcessor;
}

/**
 * Returns the addon's DSP classes. Throws the loader's Error (code ENOADDON) when the addon
 * cannot be loaded.
 */
export function loadDsp(): DspBinding {
  const binding = loadBinding();
  if (typeof binding.EqProcessor !== 'function' || typeof binding.SoftClipProcessor !== 'function') {
    throw new Error('the audio-tap native addon has no EqProcessor/SoftClipProcessor; rebuild it (npm rebuild node-red-contrib-audio-tap)');
  }
  return binding as unknown as DspBinding;
}

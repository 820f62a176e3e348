/**
 * Loads the DSP classes of the native addon (native/dsp_binding.cc). This is the only file
 * of src/dsp that touches the binding.
 */
import * as path from 'path';

/** Native biquad cascade for one stream; see native/dsp_biquad.h. */
export interface NativeEqProcessor {
  /** coefficients: stages*5 normalised (b0 b1 b2 a1 a2); gain: linear; rampFrames: 0 = at once. */
  setTarget(coefficients: Float64Array, gain: number, rampFrames: number): void;
  /** Filters whole frames; encoding 0 = s16le, 1 = f32le. Returns non-finite samples replaced. */
  process(input: Uint8Array, output: Uint8Array, encoding: 0 | 1): number;
  reset(): void;
  readonly ramping: boolean;
}

/** Native soft clipper for one stream; see native/dsp_biquad.h. */
export interface NativeSoftClipProcessor {
  /** gain, threshold, ceiling: linear (full scale 1.0); rampFrames: 0 = at once. */
  setTarget(gain: number, threshold: number, ceiling: number, rampFrames: number): void;
  process(input: Uint8Array, output: Uint8Array, encoding: 0 | 1): number;
  reset(): void;
}

export interface DspBinding {
  EqProcessor: new (channels: 1 | 2) => NativeEqProcessor;
  SoftClipProcessor: new (channels: 1 | 2) => NativeSoftClipProcessor;
}

let binding: DspBinding | undefined;

/**
 * Returns the addon's DSP exports, loading the addon (prebuild or build/Release) on first use.
 * Throws Error with code 'DSP_UNAVAILABLE' when the addon cannot be loaded.
 */
export function loadDsp(): DspBinding {
  if (binding) return binding;
  const root = path.resolve(__dirname, '..', '..', '..');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const load = require('node-gyp-build') as (dir: string) => Partial<DspBinding>;
    const exports = load(root);
    if (typeof exports.EqProcessor !== 'function' || typeof exports.SoftClipProcessor !== 'function') {
      throw new Error('the addon has no EqProcessor/SoftClipProcessor');
    }
    binding = exports as DspBinding;
    return binding;
  } catch (cause) {
    const err = new Error(
      `native DSP unavailable (${(cause as Error).message}); rebuild the addon with "npm rebuild node-red-contrib-audio-tap"`,
    ) as Error & { code: string };
    err.code = 'DSP_UNAVAILABLE';
    throw err;
  }
}

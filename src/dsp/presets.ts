/**
 * Ready-made equaliser settings. Like cookbook.ts this file is also served to the editor, so
 * it imports types only.
 */
import type { Band } from './cookbook';

/** Centre frequencies (Hz) of the 10-band graphic equaliser (octaves, ISO 266 nominal). */
export const GRAPHIC_FREQUENCIES: readonly number[] = [
  31, 62, 125, 250, 500, 1000, 2000, 4000, 8000, 16000,
];

/** Q of the graphic bands: one octave between the -3 dB points of a peaking band. */
export const GRAPHIC_Q = Math.SQRT2;

/**
 * The 10-band graphic equaliser with the given gains (dB, one per band): a low shelf at
 * 31 Hz, peaking bands from 62 Hz to 8 kHz and a high shelf at 16 kHz (shelf slope 1). The
 * 16 kHz band needs a sample rate above 32 kHz.
 */
export function graphicBands(gains: readonly number[]): Band[] {
  if (gains.length !== GRAPHIC_FREQUENCIES.length) {
    throw new RangeError(`a graphic preset needs ${GRAPHIC_FREQUENCIES.length} gains (got ${gains.length})`);
  }
  return GRAPHIC_FREQUENCIES.map((frequency, i): Band => {
    if (i === 0) return { type: 'lowshelf', frequency, gain: gains[i], slope: 1 };
    if (i === GRAPHIC_FREQUENCIES.length - 1) return { type: 'highshelf', frequency, gain: gains[i], slope: 1 };
    return { type: 'peaking', frequency, gain: gains[i], q: GRAPHIC_Q };
  });
}

export interface Preset {
  label: string;
  preamp: number; // dB
  bands: Band[];
}

/** Named presets, keyed by the id used in the editor and in msg.preset. */
export const PRESETS: Record<string, Preset> = {
  graphic: { label: '10-band graphic (flat)', preamp: 0, bands: graphicBands([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
  'bass-boost': { label: 'Bass boost', preamp: -4, bands: graphicBands([6, 5, 4, 2, 0, 0, 0, 0, 0, 0]) },
  'treble-boost': { label: 'Treble boost', preamp: -4, bands: graphicBands([0, 0, 0, 0, 0, 0, 2, 4, 5, 6]) },
  loudness: { label: 'Loudness (smile)', preamp: -4, bands: graphicBands([6, 4, 2, 0, -1, -1, 0, 2, 4, 5]) },
  vocal: { label: 'Vocal presence', preamp: -3, bands: graphicBands([-3, -2, -1, 0, 2, 3, 3, 2, 0, -1]) },
  'speech-cleanup': {
    label: 'Speech clean-up (80 Hz high-pass, 50 Hz notch)',
    preamp: 0,
    bands: [
      { type: 'highpass', frequency: 80, q: Math.SQRT1_2 },
      { type: 'notch', frequency: 50, q: 10 },
      { type: 'peaking', frequency: 3000, gain: 3, q: 1 },
      { type: 'lowpass', frequency: 12000, q: Math.SQRT1_2 },
    ],
  },
};

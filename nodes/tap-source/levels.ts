/**
 * Peak and RMS levels of interleaved PCM, per channel, over windows of a fixed number of
 * frames (tap-source's status and its `level` events).
 *
 * Levels are in dBFS relative to full scale (s16le: 32767, f32le: 1.0): a full-scale sine
 * reads 0 dBFS peak and −3.01 dBFS RMS (RMS is 20·log10 of the root mean square, without the
 * +3 dB sine correction of AES17). Silence reads LEVEL_FLOOR_DB so that values stay finite
 * numbers a JSON message and a dashboard gauge can carry.
 */
import type { Encoding } from '../../src/format';

/** The lowest level reported, in dBFS (below 16-bit's smallest step, −90.3 dBFS). */
export const LEVEL_FLOOR_DB = -100;

/** Amplitude (linear, full scale 1.0) → dBFS, rounded to 0.1 dB, floored at LEVEL_FLOOR_DB. */
export function toDbfs(amplitude: number): number {
  if (!(amplitude > 0)) return LEVEL_FLOOR_DB;
  const db = 20 * Math.log10(amplitude);
  return db <= LEVEL_FLOOR_DB ? LEVEL_FLOOR_DB : Math.round(db * 10) / 10;
}

export interface Levels {
  /** Peak level per channel over the window, dBFS. */
  peak: number[];
  /** RMS level per channel over the window, dBFS. */
  rms: number[];
  /** Frames the window covered. */
  frames: number;
}

/**
 * Accumulates peak and RMS per channel. `add` scans a chunk in place (no allocation); a
 * window closes at the end of the chunk that fills it, so a window holds `windowFrames`
 * frames plus at most one chunk.
 */
export class LevelMeter {
  private readonly peak_: Float64Array;
  private readonly sumSquares_: Float64Array;
  private frames_ = 0;
  private readonly bytesPerSample_: number;
  private readonly scale_: number;

  /**
   * @param channels samples per frame (1 or 2)
   * @param encoding 's16le' or 'f32le'
   * @param windowFrames frames per window (e.g. sampleRate / 4 for four windows a second)
   */
  constructor(
    readonly channels: number,
    readonly encoding: Encoding,
    readonly windowFrames: number,
  ) {
    this.peak_ = new Float64Array(channels);
    this.sumSquares_ = new Float64Array(channels);
    this.bytesPerSample_ = encoding === 's16le' ? 2 : 4;
    this.scale_ = encoding === 's16le' ? 1 / 32767 : 1;
  }

  /**
   * Adds a chunk of interleaved PCM (whole frames). Returns true when the window is full:
   * read it with `take()`.
   */
  add(data: Buffer): boolean {
    const channels = this.channels;
    const step = this.bytesPerSample_;
    const samples = Math.floor(data.length / step);
    const s16 = this.encoding === 's16le';
    for (let i = 0, channel = 0; i < samples; i++) {
      const v = (s16 ? data.readInt16LE(i * step) : data.readFloatLE(i * step)) * this.scale_;
      const a = v < 0 ? -v : v;
      if (a > this.peak_[channel]) this.peak_[channel] = a;
      this.sumSquares_[channel] += v * v;
      channel = channel + 1 === channels ? 0 : channel + 1;
    }
    this.frames_ += Math.floor(samples / channels);
    return this.frames_ >= this.windowFrames;
  }

  /** The window's levels (dBFS per channel); starts a new window. */
  take(): Levels {
    const frames = this.frames_;
    const peak: number[] = [];
    const rms: number[] = [];
    for (let c = 0; c < this.channels; c++) {
      peak.push(toDbfs(this.peak_[c]));
      rms.push(toDbfs(frames > 0 ? Math.sqrt(this.sumSquares_[c] / frames) : 0));
      this.peak_[c] = 0;
      this.sumSquares_[c] = 0;
    }
    this.frames_ = 0;
    return { peak, rms, frames };
  }
}

function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Status text while recording, e.g. "● 0:12 −18 dBFS" (< 20 characters up to 99 minutes). */
export function recordingStatus(seconds: number, peakDb: number | undefined): string {
  const elapsed = `● ${formatElapsed(seconds)}`;
  if (peakDb === undefined) return elapsed;
  const level = peakDb <= LEVEL_FLOOR_DB ? '−∞' : `${peakDb < -0.5 ? '−' : ''}${Math.abs(Math.round(peakDb))}`;
  return `${elapsed} ${level} dBFS`;
}

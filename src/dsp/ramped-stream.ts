/**
 * What the equaliser and the soft clipper share: one native processor per stream, fed chunks
 * of whole interleaved frames, with settings changes ramped over a fixed time.
 */
import { AudioFormat, bytesPerFrame, MAX_MESSAGE_CHANNELS } from '../format';
import { checkPayload } from './pcm';
import { settingNumber } from '../numbers';
import type { StreamProcessor } from './streams';

/** The native side of a stream processor (native/addon/dsp_binding.cc). */
export interface NativeStreamProcessor {
  /** Processes whole frames; encoding 0 = s16le, 1 = f32le. Returns non-finite samples replaced by 0. */
  process(input: Uint8Array, output: Uint8Array, encoding: 0 | 1): number;
  reset(): void;
}

/** Default time (ms) over which a settings change moves a running stream. */
export const DEFAULT_RAMP_MS = 20;

/** Longest ramp (ms) a settings change may take. */
export const MAX_RAMP_MS = 1000;

/**
 * Throws RangeError unless `rampMs` is a number of milliseconds in 0..1000; `name` is the
 * field as the user wrote it ('ramp', 'msg.ramp').
 */
export function checkRampMs(rampMs: unknown, name = 'ramp'): asserts rampMs is number {
  if (!(typeof rampMs === 'number' && rampMs >= 0 && rampMs <= MAX_RAMP_MS)) {
    throw new RangeError(`${name} must be 0..${MAX_RAMP_MS} ms (got ${String(rampMs)})`);
  }
}

/**
 * A node's ramp setting: `fallback` when unset, else a number of ms in 0..1000 (numeric
 * strings accepted). Throws TypeError / RangeError naming the field.
 */
export function rampSetting(value: unknown, fallback: number): number {
  const ramp = settingNumber(value, fallback, 'ramp', `milliseconds from 0 to ${MAX_RAMP_MS}`);
  checkRampMs(ramp);
  return ramp;
}

/**
 * The channel count a DSP stream takes: 1 to MAX_MESSAGE_CHANNELS interleaved channels (a
 * multitrack recording's tracks side by side), every channel processed alike with its own
 * memory.
 * @throws RangeError naming the field for any other count
 */
export function dspChannels(format: AudioFormat): number {
  const channels = format.channels;
  if (Number.isInteger(channels) && channels >= 1 && channels <= MAX_MESSAGE_CHANNELS) return channels;
  throw new RangeError(`channels: expected 1 to ${MAX_MESSAGE_CHANNELS}, got ${String(channels)}`);
}

/** One stream through a native processor; subclasses say how settings reach it (update). */
export abstract class RampedStream<Settings, Native extends NativeStreamProcessor> implements StreamProcessor {
  readonly format: AudioFormat;
  /** Frames a ramped settings change takes. */
  readonly rampFrames: number;
  /** Frames processed since creation or the last reset(). */
  frames = 0;
  /** Non-finite input samples replaced by 0 in the last process() call. */
  lastNonFinite = 0;
  protected readonly processor: Native;
  private readonly encoding: 0 | 1;
  private readonly frameBytes: number;

  /**
   * @param rampMs time (ms, 0..1000) over which later update() calls move the settings
   * @throws RangeError for a ramp out of range, or settings update() refuses
   */
  protected constructor(format: AudioFormat, processor: Native, settings: Settings, rampMs: number) {
    checkRampMs(rampMs);
    this.format = format;
    this.rampFrames = Math.round((rampMs / 1000) * format.sampleRate);
    this.encoding = format.encoding === 's16le' ? 0 : 1;
    this.frameBytes = bytesPerFrame(format);
    this.processor = processor;
    this.update(settings, false);
  }

  /** Moves to new settings, over the ramp time unless `ramp` is false. Throws RangeError naming the field (and keeps the old settings). */
  abstract update(settings: Settings, ramp?: boolean): void;

  /**
   * Processes one chunk of whole interleaved frames into `output` (same length, may be
   * `input`; default a new Buffer). Throws TypeError/RangeError for a non-Buffer or a partial frame.
   */
  process(input: Buffer, output: Buffer = Buffer.allocUnsafe(input.length)): Buffer {
    checkPayload(input, this.format);
    this.lastNonFinite = this.processor.process(input, output, this.encoding);
    this.frames += input.length / this.frameBytes;
    return output;
  }

  /** Clears the processor's memory and ramp (keeps the settings). */
  reset(): void {
    this.processor.reset();
    this.frames = 0;
  }
}

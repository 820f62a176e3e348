/**
 * Playback (the audio-out node): PCM to an output device through a bounded jitter buffer.
 */
import { loadBinding, NativePlayback, NativePlaybackStats } from './binding';
import { AudioFormat, bytesPerFrame, normalizeFormat } from './format';

export interface PlaybackOptions {
  format: AudioFormat;
  /** Output device: a sink name (Linux), a device UID or name (macOS), an endpoint ID or name (Windows). Default: the default output. */
  device?: string;
  /** Jitter buffer: audio gathered before playing starts, and again after an underrun (ms, default 100). */
  bufferMs?: number;
  /** Most audio held (ms, default 4 × bufferMs); more is dropped and counted as overrun. */
  capacityMs?: number;
}

export interface PlaybackStats {
  /** Frames of written audio played. */
  playedFrames: number;
  /** Times the jitter buffer ran dry while playing (silence was played). */
  underruns: number;
  /** Written frames dropped because the buffer was full. */
  overrunFrames: number;
  /** Frames waiting now. */
  bufferedFrames: number;
  /** The OS's output latency after the jitter buffer, in frames (-1 unknown). */
  outputLatencyFrames: number;
}

/**
 * Plays PCM to an output device through a bounded jitter buffer. write() never blocks: what
 * does not fit is dropped and counted.
 */
export class Playback {
  readonly format: AudioFormat;
  private readonly native: NativePlayback;
  private readonly frameBytes: number;

  /** @throws TypeError naming a bad option. */
  constructor(options: PlaybackOptions) {
    this.format = normalizeFormat(options?.format);
    this.frameBytes = bytesPerFrame(this.format);
    const bufferMs = options.bufferMs ?? 100;
    if (typeof bufferMs !== 'number' || !(bufferMs >= 1 && bufferMs <= 10000)) {
      throw new TypeError(`bufferMs: expected milliseconds from 1 to 10000, got ${String(options.bufferMs)}`);
    }
    const capacityMs = options.capacityMs ?? 4 * bufferMs;
    if (typeof capacityMs !== 'number' || !(capacityMs >= bufferMs && capacityMs <= 60000)) {
      throw new TypeError(`capacityMs: expected milliseconds from bufferMs to 60000, got ${String(options.capacityMs)}`);
    }
    if (options.device !== undefined && typeof options.device !== 'string') throw new TypeError('device: expected a string');
    const frames = (ms: number) => Math.max(1, Math.round((this.format.sampleRate * ms) / 1000));
    this.native = new (loadBinding().Playback)({
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      encoding: this.format.encoding,
      bufferFrames: frames(bufferMs),
      capacityFrames: frames(capacityMs),
      device: options.device || undefined,
    });
  }

  /** Opens the output stream. @throws EngineError (ENOSERVER, ENOAPP for an unknown device, EUNSUPPORTED). */
  start(): Promise<void> {
    return this.native.start();
  }

  /**
   * Queues interleaved PCM in this playback's format; returns the frames accepted.
   * @throws RangeError when `data` is not whole frames.
   */
  write(data: Buffer): number {
    return this.native.write(data);
  }

  /** Plays out what is buffered without waiting for a full jitter buffer (the end of a stream). */
  drain(): void {
    this.native.drain();
  }

  stop(): void {
    this.native.stop();
  }

  stats(): PlaybackStats {
    return this.native.stats() as NativePlaybackStats;
  }

  /** Bytes per frame of this playback's format. */
  get bytesPerFrame(): number {
    return this.frameBytes;
  }
}

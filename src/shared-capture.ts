/**
 * One OS capture shared by the Capture objects of this process that ask the engine for exactly
 * the same thing (target, format, chunk length, queue, mute, device, follow rules: every option
 * the addon gets), reference-counted: it starts with its first consumer and stops with its last.
 * A second process-loopback capture of one app fails silently on Windows, and every capture
 * costs the audio server work: three flows recording one app open one capture.
 *
 * Consumers see the shared timeline; each takes a base (SharedCapture.counters) when it joins and
 * counts from there (src/capture.ts). Chunks reach every consumer, each with a Buffer of its own
 * (a node downstream may process its payload in place). The last consumer's stop stops the OS
 * capture, which flushes what it holds to the consumers still there; a consumer that leaves
 * before the last ends at once, where the shared timeline is.
 */
import { NativeBinding, NativeCapture, NativeCaptureOptions, NativeEnd } from './binding';

/** What a consumer hears from its shared capture. Positions are on the shared timeline. */
export interface CaptureConsumer {
  onState(state: 'waiting' | 'recording'): void;
  onChunk(data: Buffer, position: number): void;
  onWarning(text: string, code: string): void;
  /** `track`: a multitrack capture's track whose target it is. */
  onPresence(kind: 'target' | 'server', back: boolean, position: number, track?: number): void;
  onSilence(silent: boolean, position: number, reason: string, message: string): void;
  /** The OS capture ended (totals of the shared timeline). The last event. */
  onEnd(end: NativeEnd): void;
  /** How many consumers share the capture now (after one joined or left). */
  onConsumers(count: number): void;
}

/** What the shared timeline has seen so far, as JavaScript received it. */
export interface SharedCounters {
  /** The end of the last chunk (frames). */
  frames: number;
  chunks: number;
  /** Chunks dropped before JavaScript (jumps in the positions) and their frames. */
  droppedChunks: number;
  droppedFrames: number;
}

const running = new Map<string, SharedCapture>();

export class SharedCapture {
  readonly counters: SharedCounters = { frames: 0, chunks: 0, droppedChunks: 0, droppedFrames: 0 };
  state: 'starting' | 'waiting' | 'recording' | 'stopping' | 'ended' = 'starting';
  /** Settles when the OS capture runs (or waits for its target), or failed to open. */
  readonly started: Promise<void>;
  private readonly consumers = new Set<CaptureConsumer>();
  private readonly native: NativeCapture;

  /**
   * The running capture for `options` (joined), or a new one (started). `share` false: always
   * a capture of its own, never joined by others.
   * @throws what the addon throws for the options (TypeError); the start's EngineError comes
   *   through `started`.
   */
  static join(binding: NativeBinding, options: NativeCaptureOptions, consumer: CaptureConsumer, share = true): SharedCapture {
    const key = share ? JSON.stringify(options) : undefined;
    const found = key === undefined ? undefined : running.get(key);
    if (found) {
      found.add(consumer);
      return found;
    }
    const shared = new SharedCapture(binding, options, key);
    shared.add(consumer);
    return shared;
  }

  private constructor(
    binding: NativeBinding,
    options: NativeCaptureOptions,
    private readonly key: string | undefined,
  ) {
    const tracks = options.target.kind === 'tracks' ? options.target.tracks.length : 1;
    const frameBytes = tracks * options.channels * (options.encoding === 'f32le' ? 4 : 2);
    this.native = new binding.Capture(options, (type: string, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => {
      switch (type) {
        case 'state':
          if (this.state === 'starting' || this.state === 'waiting' || this.state === 'recording') {
            this.state = a as 'waiting' | 'recording';
          }
          for (const consumer of this.consumers) consumer.onState(a as 'waiting' | 'recording');
          break;
        case 'chunk': {
          const data = a as Buffer;
          const position = b as number;
          const counters = this.counters;
          if (position > counters.frames) {
            counters.droppedChunks++;
            counters.droppedFrames += position - counters.frames;
          }
          counters.chunks++;
          counters.frames = position + data.length / frameBytes;
          let first = true;
          for (const consumer of this.consumers) {
            consumer.onChunk(first ? data : Buffer.from(data), position);
            first = false;
          }
          break;
        }
        case 'warning':
          for (const consumer of this.consumers) consumer.onWarning(a as string, (b as string) || '');
          break;
        case 'target':
        case 'server':
          for (const consumer of this.consumers) consumer.onPresence(type, a === 'back', b as number, c as number | undefined);
          break;
        case 'silence':
          for (const consumer of this.consumers) consumer.onSilence(a === 'silent', b as number, c as string, d as string);
          break;
        case 'end': {
          this.state = 'ended';
          this.unlist();
          const consumers = [...this.consumers];
          this.consumers.clear();
          for (const consumer of consumers) consumer.onEnd(a as NativeEnd);
          break;
        }
      }
    });
    if (key !== undefined) running.set(key, this);
    this.started = this.native.start();
    this.started.catch(() => {
      this.state = 'ended';
      this.unlist();
    });
  }

  /** Consumers sharing it now. */
  get size(): number {
    return this.consumers.size;
  }

  /**
   * `consumer` stops. The last one stops the OS capture and gets its end (after its flush);
   * any other leaves now and returns true (its end is its own to give).
   */
  leave(consumer: CaptureConsumer): boolean {
    if (!this.consumers.has(consumer)) return false;
    if (this.consumers.size > 1) {
      this.consumers.delete(consumer);
      for (const other of this.consumers) other.onConsumers(this.consumers.size);
      return true;
    }
    // No one joins a capture that is stopping: a new consumer gets a capture of its own.
    this.state = this.state === 'ended' ? 'ended' : 'stopping';
    this.unlist();
    this.native.stop();
    return false;
  }

  stats() {
    return this.native.stats();
  }

  private add(consumer: CaptureConsumer): void {
    this.consumers.add(consumer);
    for (const each of this.consumers) each.onConsumers(this.consumers.size);
  }

  private unlist(): void {
    if (this.key !== undefined && running.get(this.key) === this) running.delete(this.key);
  }
}

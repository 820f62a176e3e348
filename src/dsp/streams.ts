/**
 * Per-stream state for the DSP nodes: one processor per recording, the least recently used
 * dropped beyond a bound so that memory stays bounded however many recordings pass.
 */
import { AudioFormat, sameFormat } from '../format';

/** What a DSP node keeps per stream: a processor of interleaved PCM in one format. */
export interface StreamProcessor {
  readonly format: AudioFormat;
  /** Samples that were NaN or ±Inf in the last input (written as 0). */
  readonly lastNonFinite: number;
  /** Frames processed since it was made or reset. */
  readonly frames: number;
  process(input: Buffer, output: Buffer): Buffer;
  /** Clears the stream's memory (keeps the settings). */
  reset(): void;
}

/** The stream a PCM message belongs to: msg.audio.recordingId, else msg.topic, else ''. */
export function streamKey(msg: { audio?: unknown; topic?: unknown }): string {
  const audio = msg.audio as { recordingId?: unknown } | undefined;
  if (audio && typeof audio.recordingId === 'string' && audio.recordingId !== '') return `id:${audio.recordingId}`;
  if (typeof msg.topic === 'string') return `topic:${msg.topic}`;
  return 'default';
}

/** A Map with least-recently-used eviction; `limit` entries at most. */
export class StreamTable<T> {
  private readonly entries = new Map<string, T>();

  constructor(readonly limit = 16) {}

  /** The most recently used key: a stream's chunks come in runs, and it needs no move then. */
  private newest: string | undefined;

  get(key: string): T | undefined {
    const value = this.entries.get(key);
    if (value !== undefined && key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, value);
      this.newest = key;
    }
    return value;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.newest = key;
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
    if (key === this.newest) this.newest = undefined;
  }

  values(): IterableIterator<T> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
  }
}

/** An error from processMessage: the processor for a new stream could not be made (a setting). */
export type StreamError = Error & { failure: 'setting' };

function failed(error: unknown): StreamError {
  return Object.assign(error instanceof Error ? error : new Error(String(error)), { failure: 'setting' as const });
}

/**
 * Processes a PCM message's payload in place with its stream's processor: the stream's key is
 * msg.audio.recordingId, else msg.topic. `make` makes the processor for a new stream or a
 * changed format; a recording that starts again (msg.audio.position 0 after frames went
 * through) resets it; it is forgotten after the recording's final message (msg.audio.final).
 * In place: Node-RED clones a message sent to several wires, so the payload is this node's.
 * `payload` and `format` are msg's, as src/node-red/pcm-message.ts read and checked them.
 * Returns the processor that ran.
 * @throws StreamError when `make` throws (the TypeError / RangeError naming the setting).
 */
export function processMessage<T extends StreamProcessor>(
  streams: StreamTable<T>,
  msg: Record<string, unknown>,
  pcm: { payload: Buffer; format: AudioFormat },
  make: (format: AudioFormat) => T,
): T {
  const { payload, format } = pcm;
  const key = streamKey(msg);
  const audio = msg.audio as { position?: unknown; final?: unknown } | undefined;
  let stream = streams.get(key);
  if (!stream || !sameFormat(stream.format, format)) {
    try {
      stream = make(format);
    } catch (error) {
      throw failed(error);
    }
    streams.set(key, stream);
  } else if (audio?.position === 0 && stream.frames > 0) {
    stream.reset();
  }
  stream.process(payload, payload);
  if (audio?.final) streams.delete(key);
  return stream;
}

/**
 * Per-stream state for the DSP nodes: one processor per recording, the least recently used
 * dropped beyond a bound so that memory stays bounded however many recordings pass.
 */

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

  get(key: string): T | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  values(): IterableIterator<T> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

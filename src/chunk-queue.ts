/**
 * One capture's own queue of chunks while its consumer is not taking them (Capture.pause(), an
 * async iterator between pulls): at most `limit` chunks wait; a chunk that finds it full is
 * dropped and counted, so a slow consumer costs bounded memory and loses only its own chunks
 * (the others sharing its OS capture go on). Drops show as jumps in the positions, as the
 * engine's do.
 */
export interface QueuedChunk {
  data: Buffer;
  /** The first frame's timeline position. */
  position: number;
  frames: number;
}

export class ChunkQueue<T extends QueuedChunk> {
  /** Chunks dropped because `limit` were waiting, and their frames. */
  droppedChunks = 0;
  droppedFrames = 0;
  private readonly items: T[] = [];
  private head = 0;

  /** @param limit chunks that may wait (the capture's queueChunks). */
  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** Queues `chunk`, or drops and counts it when `limit` wait. Returns false when dropped. */
  push(chunk: T): boolean {
    if (this.length >= this.limit) {
      this.droppedChunks++;
      this.droppedFrames += chunk.frames;
      return false;
    }
    this.items.push(chunk);
    return true;
  }

  /** The oldest waiting chunk, or undefined. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const chunk = this.items[this.head];
    this.items[this.head++] = undefined as unknown as T;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return chunk;
  }
}

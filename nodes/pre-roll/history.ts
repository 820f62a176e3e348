/**
 * The last N frames of one PCM stream, as the chunks that carried them: what a pre-roll keeps.
 * Memory is bounded: a chunk is let go as soon as the newer ones alone cover N frames, so the
 * history holds at most N frames plus one chunk (whatever the chunk length).
 */

/** A chunk as it arrived: interleaved PCM of whole frames at a timeline position (frames). */
export interface HistoryChunk {
  data: Buffer;
  /** Timeline index of its first frame (msg.audio.position). */
  position: number;
  frames: number;
}

export class PcmHistory {
  private chunks: HistoryChunk[] = [];
  private head = 0;
  private heldFrames = 0;
  private heldBytes = 0;

  /** `capacityFrames`: N, the frames kept (at least 1). */
  constructor(readonly capacityFrames: number) {
    if (!Number.isSafeInteger(capacityFrames) || capacityFrames < 1) {
      throw new RangeError(`pre-roll: expected a whole number of frames of at least 1, got ${capacityFrames}`);
    }
  }

  /** Frames held now (N plus at most one chunk once full). */
  get frames(): number {
    return this.heldFrames;
  }

  /** Bytes of PCM held now. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** The timeline position just after the newest frame held (the live edge); undefined when empty. */
  get end(): number | undefined {
    const last = this.chunks[this.chunks.length - 1];
    return last && this.chunks.length > this.head ? last.position + last.frames : undefined;
  }

  /** The position of the oldest frame held; undefined when empty. */
  get start(): number | undefined {
    return this.chunks.length > this.head ? this.chunks[this.head].position : undefined;
  }

  /** Adds the newest chunk and lets go of the oldest ones no longer needed to cover N frames. */
  push(chunk: HistoryChunk): void {
    if (chunk.frames <= 0) return;
    this.chunks.push(chunk);
    this.heldFrames += chunk.frames;
    this.heldBytes += chunk.data.length;
    while (this.chunks.length - this.head > 1 && this.heldFrames - this.chunks[this.head].frames >= this.capacityFrames) {
      const old = this.chunks[this.head];
      this.chunks[this.head++] = undefined as unknown as HistoryChunk;
      this.heldFrames -= old.frames;
      this.heldBytes -= old.data.length;
    }
    // Compact now and then: the array does not grow with the stream's length.
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * The held audio from timeline position `from` on, oldest first: the chunk that holds `from`
   * cut to start there (a view, not a copy), then the newer ones whole. From before the oldest
   * frame held: everything held.
   */
  since(from: number): HistoryChunk[] {
    const out: HistoryChunk[] = [];
    for (let i = this.head; i < this.chunks.length; i++) {
      const chunk = this.chunks[i];
      const end = chunk.position + chunk.frames;
      if (end <= from) continue;
      if (chunk.position >= from) {
        out.push(chunk);
        continue;
      }
      const skip = from - chunk.position;
      const frameBytes = chunk.data.length / chunk.frames;
      out.push({ data: chunk.data.subarray(skip * frameBytes), position: from, frames: chunk.frames - skip });
    }
    return out;
  }

  /** Forgets everything (a new recording, another format). */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.heldFrames = 0;
    this.heldBytes = 0;
  }
}

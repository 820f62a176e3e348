/**
 * Where a chunk goes in its file: msg.audio.position is the frame position of the chunk's first
 * frame on the capture engine's clock, and chunks dropped upstream show as a jump in it. A file's
 * timeline starts at the position of the first chunk it gets (no fill from 0).
 */

/** What to do with one chunk. */
export interface Placement {
  /** Frames of silence to write before the chunk (a jump within the limit). */
  fill: number;
  /** Frames of a jump over the limit, not filled (the chunk is written right after the last). */
  skipped: number;
  /** Frames the chunk starts before the end of the last one (written after it all the same). */
  back: number;
}

export class Timeline {
  /** Largest jump (frames) filled with silence. */
  readonly maxGapFrames: number;
  /** Position (frames) where the next chunk is expected, once a positioned chunk came. */
  private next?: number;

  /** @param maxGapFrames largest jump filled with silence, frames (0: none). */
  constructor(maxGapFrames: number) {
    this.maxGapFrames = maxGapFrames;
  }

  /**
   * Places a chunk of `frames` frames at `position` (frames; undefined, negative or fractional:
   * no position, the chunk follows the last one).
   */
  place(position: unknown, frames: number): Placement {
    const none: Placement = { fill: 0, skipped: 0, back: 0 };
    if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
      if (this.next !== undefined) this.next += frames;
      return none;
    }
    const expected = this.next;
    this.next = position + frames;
    if (expected === undefined || position === expected) return none;
    if (position < expected) return { ...none, back: expected - position };
    const jump = position - expected;
    return jump <= this.maxGapFrames ? { ...none, fill: jump } : { ...none, skipped: jump };
  }
}

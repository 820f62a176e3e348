/**
 * Whether a recording's target is making sound, judged on its audio: tap-source's `idle` and
 * `active` events, and the split into a file per activity.
 *
 * The detector is fed the level meter's windows (a quarter second of the timeline each) with
 * the loudest channel's peak in dBFS. A recording starts idle (nothing heard yet); the first
 * window whose peak reaches `thresholdDb` makes it active; once every window has stayed below
 * the threshold for `idleFrames` frames of the timeline, it is idle again. Positions are frames
 * on the capture's timeline, not wall-clock time, so the same audio gives the same events
 * however late the flow runs.
 */

export interface ActivityChange {
  kind: 'idle' | 'active';
  /**
   * Frames: `active` — the start of the first window at or above the threshold; `idle` — the
   * end of the last window at or above it (where the quiet began).
   */
  position: number;
}

export class ActivityDetector {
  private idle = true;
  /** Where the current quiet stretch began (frames), while active. */
  private quietSince = 0;

  /**
   * @param idleFrames frames of quiet after which the target is idle (> 0)
   * @param thresholdDb peak level (dBFS) from which a window counts as sound
   */
  constructor(
    readonly idleFrames: number,
    readonly thresholdDb: number,
  ) {}

  /** True until the first sound, and after each quiet stretch of `idleFrames`. */
  get isIdle(): boolean {
    return this.idle;
  }

  /**
   * One level window, frames [start, end) of the timeline, with its loudest peak (dBFS).
   * Returns the change it makes, if any.
   */
  window(start: number, end: number, peakDb: number): ActivityChange | undefined {
    if (peakDb >= this.thresholdDb) {
      this.quietSince = end;
      if (!this.idle) return undefined;
      this.idle = false;
      return { kind: 'active', position: start };
    }
    if (this.idle || end - this.quietSince < this.idleFrames) return undefined;
    this.idle = true;
    return { kind: 'idle', position: this.quietSince };
  }
}

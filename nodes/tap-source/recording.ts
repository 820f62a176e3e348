/**
 * One recording of a tap-source node: its capture, its timeline, and the messages it sends.
 *
 * States: starting → (waiting →) recording → stopping → ended. `waiting` is an app that runs
 * but has not opened audio yet; `stopping` is a stop asked (a message, the duration reached,
 * a close) whose end event has not come; every path ends in `ended`, once: after the final
 * PCM message (empty payload, audio.final, position at the end of the timeline) and the
 * `stopped` event, or after a start that failed.
 */
import type { NodeMessage, NodeStatus } from 'node-red';
import { Capture, CaptureEnd, CaptureTarget, TargetEvent } from '../../src/capture';
import { AudioFormat, pcmFields } from '../../src/format';
import { describeTarget } from '../../src/node-red/targets';
import { LevelMeter, recordingStatus } from './levels';

export type RecordingState = 'starting' | 'waiting' | 'recording' | 'stopping' | 'ended';

/** Level windows per second of audio (status and level events). */
const LEVELS_PER_SECOND = 4;

/** What a recording needs of its node. */
export interface RecordingHost {
  /** Output 1: a PCM message. */
  sendPcm(msg: NodeMessage): void;
  /** Output 2: a lifecycle event. */
  sendEvent(msg: NodeMessage): void;
  status(status: NodeStatus): void;
  warn(text: string): void;
  error(text: string, msg: NodeMessage): void;
  /** The node's catalog: `tap-source.status.*`. */
  t(key: string, values?: Record<string, string | number>): string;
  /** True once the node is closing (no idle status after the end). */
  closing(): boolean;
}

export interface RecordingOptions {
  id: string;
  target: CaptureTarget;
  format: AudioFormat;
  /** Properties of the start message that ride along on every message. */
  extras: Record<string, unknown>;
  topic: string;
  /** Seconds after which the recording stops by itself, on the timeline; 0 = until stopped. */
  duration: number;
  /** Level events on output 2, four a second of audio. */
  emitLevels: boolean;
}

export class TapRecording {
  readonly id: string;
  readonly target: CaptureTarget;
  /** The target in a few words ("firefox", "system − zoom"), for statuses and messages. */
  readonly targetText: string;
  readonly format: AudioFormat;
  /** Resolves once the recording has ended (its last message sent) or failed to start. */
  readonly ended: Promise<void>;

  private stateNow: RecordingState = 'starting';
  private readonly extras: Record<string, unknown>;
  private readonly topic: string;
  private readonly emitLevels: boolean;
  /** Stop once the timeline reaches this many frames (the duration), or Infinity. */
  private readonly limit: number;
  /**
   * The end of the timeline sent so far on output 1 (frames): the position after the last
   * chunk's last frame. Dropped chunks count (they show as a jump in msg.audio.position).
   */
  private timeline = 0;
  /** Frames dropped (jumps in position) not yet reported by a `drops` event. */
  private dropsPending = 0;
  /** Every frame dropped so far. */
  private dropsTotal = 0;
  /** The timeline position of the last `drops` event, or -Infinity. */
  private dropsReportedAt = -Infinity;
  private readonly meter: LevelMeter;
  /** The loudest channel's peak of the last level window, dBFS. */
  private peakDb: number | undefined;
  /** macOS: the OS said the host lacks the audio-recording permission (the capture is silent). */
  private noPermission = false;
  /** A followed app has exited: the recording goes on (silence) until it plays again. */
  private targetGone = false;
  private statusTimer: NodeJS.Timeout | undefined;
  private markEnded!: () => void;

  constructor(
    private readonly capture: Capture,
    options: RecordingOptions,
    private readonly host: RecordingHost,
  ) {
    this.id = options.id;
    this.target = options.target;
    this.targetText = describeTarget(options.target);
    this.format = options.format;
    this.extras = options.extras;
    this.topic = options.topic;
    this.emitLevels = options.emitLevels;
    // At least one frame: a tiny positive duration still ends.
    this.limit = options.duration > 0 ? Math.max(1, Math.round(options.duration * options.format.sampleRate)) : Infinity;
    this.meter = new LevelMeter(options.format.channels, options.format.encoding, Math.round(options.format.sampleRate / LEVELS_PER_SECOND));
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    capture.on('waiting', () => this.onWaiting());
    capture.on('recording', () => this.onRecording());
    capture.on('warning', (text: string, code?: string) => this.onWarning(text, code));
    capture.on('target-gone', (at: TargetEvent) => this.onTarget(false, at));
    capture.on('target-back', (at: TargetEvent) => this.onTarget(true, at));
    capture.on('chunk', (chunk) => this.onChunk(chunk.data, chunk.position, chunk.frames));
    capture.on('end', (end: CaptureEnd) => this.finish(end));
  }

  get state(): RecordingState {
    return this.stateNow;
  }

  /**
   * Starts the capture. Resolves once it runs (or waits for its app).
   * @throws EngineError from the engine (ENOAPP, EAMBIGUOUS, …): the recording has then
   *   ended, with a `stopped` event of reason 'error'.
   */
  async start(): Promise<void> {
    this.host.status({ fill: 'yellow', shape: 'ring', text: this.host.t('tap-source.status.starting') });
    try {
      await this.capture.start();
    } catch (error) {
      const e = error as Error & { code?: string };
      this.stateNow = 'ended';
      this.host.status({ fill: 'red', shape: 'ring', text: this.host.t(e.code === 'EAMBIGUOUS' ? 'tap-source.status.ambiguous' : 'tap-source.status.error') });
      this.event('stopped', { reason: 'error', code: e.code, error: e.message, frames: 0, seconds: 0, droppedChunks: 0, droppedFrames: 0 });
      this.markEnded();
      throw error;
    }
  }

  /** Asks the capture to stop; the end event finishes the recording. Idempotent. */
  stop(): void {
    if (this.stateNow === 'ended') return;
    if (this.stateNow !== 'stopping') this.stateNow = 'stopping';
    this.capture.stop();
  }

  private event(event: string, details: Record<string, unknown>): void {
    this.host.sendEvent({
      ...this.extras,
      topic: this.topic,
      payload: { event, recordingId: this.id, target: this.target, ...details },
    } as NodeMessage);
  }

  private onWaiting(): void {
    if (this.stateNow === 'starting') this.stateNow = 'waiting';
    this.host.status({ fill: 'yellow', shape: 'ring', text: this.host.t('tap-source.status.waiting', { target: this.targetText }) });
    this.event('waiting', {});
  }

  private onRecording(): void {
    if (this.stateNow === 'starting' || this.stateNow === 'waiting') this.stateNow = 'recording';
    this.showRecording();
    this.event('started', { format: this.format });
  }

  private onWarning(text: string, code?: string): void {
    this.host.warn(text);
    if (code === 'EPERMISSION') {
      this.noPermission = true;
      this.host.status({ fill: 'red', shape: 'ring', text: this.host.t('tap-source.status.noPermission') });
    }
    this.event('warning', { message: text, ...(code ? { code } : {}) });
  }

  /**
   * The flow fell behind and the engine dropped chunks: the jump to `position` is counted, and
   * reported on output 2 as a `drops` event at most once per second of the timeline (what
   * accumulates in between goes in the next one; the `stopped` event has the totals).
   */
  private noteDrops(position: number): void {
    const frames = position - this.timeline;
    this.dropsPending += frames;
    this.dropsTotal += frames;
    if (position - this.dropsReportedAt < this.format.sampleRate) return;
    this.dropsReportedAt = position;
    this.event('drops', {
      droppedFrames: this.dropsPending,
      droppedSeconds: this.dropsPending / this.format.sampleRate,
      totalDroppedFrames: this.dropsTotal,
      position,
      seconds: position / this.format.sampleRate,
    });
    this.dropsPending = 0;
  }

  /** A followed app went away or came back: an event on output 2, and the status says so. */
  private onTarget(back: boolean, at: TargetEvent): void {
    this.targetGone = !back;
    this.event(back ? 'target-back' : 'target-gone', { position: at.position, seconds: at.seconds });
    if (this.stateNow === 'recording') this.showRecording();
  }

  /** A chunk at `position` on the engine's timeline: chunks dropped before they reached JavaScript leave a jump, which wav-sink keeps as silence. */
  private onChunk(chunk: Buffer, position: number, chunkFrames: number): void {
    if (position >= this.limit) return;
    if (position > this.timeline) this.noteDrops(position);
    let data = chunk;
    let frames = chunkFrames;
    if (position + frames > this.limit) {
      frames = this.limit - position;
      data = data.subarray(0, frames * (data.length / chunkFrames));
    }
    this.host.sendPcm({
      ...this.extras,
      topic: this.topic,
      payload: data,
      ...pcmFields(this.format, this.id, position, this.targetText),
    } as NodeMessage);
    this.timeline = position + frames;
    if (this.meter.add(data)) {
      const levels = this.meter.take();
      this.peakDb = Math.max(...levels.peak);
      if (this.emitLevels) {
        this.event('level', { peak: levels.peak, rms: levels.rms, position: this.timeline, seconds: this.timeline / this.format.sampleRate });
      }
    }
    if (this.timeline >= this.limit && this.stateNow !== 'stopping' && this.stateNow !== 'ended') this.stop();
  }

  private showRecording(): void {
    this.clearStatusTimer();
    // A permission warning (macOS: the capture is silent) stays on the status.
    const show = () =>
      this.noPermission
        ? this.host.status({ fill: 'red', shape: 'ring', text: this.host.t('tap-source.status.noPermission') })
        : this.targetGone
          ? this.host.status({ fill: 'yellow', shape: 'dot', text: this.host.t('tap-source.status.gone', { target: this.targetText }) })
          : this.host.status({ fill: 'green', shape: 'dot', text: recordingStatus(this.timeline / this.format.sampleRate, this.peakDb) });
    show();
    this.statusTimer = setInterval(show, 1000);
  }

  private clearStatusTimer(): void {
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.statusTimer = undefined;
  }

  private finish(end: CaptureEnd): void {
    if (this.stateNow === 'ended') return; // a start that failed has ended it already
    this.clearStatusTimer();
    this.stateNow = 'ended';
    // The whole timeline, up to the duration: chunks dropped at the very end count too.
    const frames = Math.min(Math.max(end.frames, this.timeline), this.limit);
    const reason = frames >= this.limit ? 'stopped' : end.reason;
    const seconds = frames / this.format.sampleRate;
    // The last message of the recording on output 1, at the end of the timeline: downstream
    // nodes (wav-sink) finalize.
    const fields = pcmFields(this.format, this.id, frames, this.targetText);
    this.host.sendPcm({
      ...this.extras,
      topic: this.topic,
      payload: Buffer.alloc(0),
      ...fields,
      audio: { ...fields.audio, final: true, reason },
    } as NodeMessage);
    this.event('stopped', {
      reason,
      ...(end.code ? { code: end.code } : {}),
      ...(end.message ? { message: end.message } : {}),
      frames,
      seconds,
      droppedChunks: end.droppedChunks,
      droppedFrames: end.droppedFrames,
      overrunFrames: end.overrunFrames,
    });
    if (end.reason === 'error') {
      this.host.status({ fill: 'red', shape: 'ring', text: end.message ?? this.host.t('tap-source.status.error') });
      this.host.error(`recording of ${this.targetText} failed: ${end.message}`, { payload: end } as unknown as NodeMessage);
    } else if (!this.host.closing()) {
      this.host.status({ fill: 'grey', shape: 'ring', text: this.host.t(reason === 'target-exited' ? 'tap-source.status.exited' : 'tap-source.status.idle') });
    }
    this.markEnded();
  }
}

/**
 * One recording of a tap-source node: its capture, its timeline, and the messages it sends.
 *
 * States: starting → (waiting →) recording → stopping → ended. `waiting` is an app that runs
 * but has not opened audio yet; `stopping` is a stop asked (a message, the duration reached,
 * a close) whose end event has not come; every path ends in `ended`, once: after the final
 * PCM message (empty payload, audio.final, position at the end of the timeline) and the
 * `stopped` event, or after a start that failed.
 *
 * Activity (idleSeconds > 0): `active` and `idle` events on output 2 (activity.ts). Split on
 * activity: each active segment goes out on output 1 as a recording of its own — its own
 * recordingId (`<id>-<n>`), its own final message (reason 'idle', or the recording's at the
 * end) — and the quiet in between is not sent, so wav-sink writes a file per segment.
 */
import type { NodeMessage, NodeStatus } from 'node-red';
import { Capture, CaptureEnd, CaptureTarget, SilenceEvent, TargetEvent } from '../../src/capture';
import { AudioFormat, pcmFields, TrackInfo } from '../../src/format';
import { describeTarget } from '../../src/node-red/targets';
import { ActivityChange, ActivityDetector } from './activity';
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
  /** The chunks' format (a multitrack capture's: tracks × channels). */
  format: AudioFormat;
  /** A multitrack capture's tracks (msg.audio.tracks). */
  tracks?: TrackInfo[];
  /** Properties of the start message that ride along on every message. */
  extras: Record<string, unknown>;
  topic: string;
  /** Seconds after which the recording stops by itself, on the timeline; 0 = until stopped. */
  duration: number;
  /** Level events on output 2, four a second of audio. */
  emitLevels: boolean;
  /** Activity: seconds of quiet after which the target is idle; 0 = no activity events. */
  idleSeconds?: number;
  /** Activity: the peak level (dBFS) from which audio counts as sound. */
  soundDb?: number;
  /** A recording (file) per active segment on output 1; needs idleSeconds > 0. */
  split?: boolean;
}

/** The default of RecordingOptions.soundDb: −60 dBFS. */
export const DEFAULT_SOUND_DB = -60;

/** A chunk held back while no segment is open (split): the current level window's. */
interface HeldChunk {
  data: Buffer;
  position: number;
}

export class TapRecording {
  readonly id: string;
  readonly target: CaptureTarget;
  /** The target in a few words ("firefox", "system − zoom"), for statuses and messages. */
  readonly targetText: string;
  readonly format: AudioFormat;
  private readonly tracks: TrackInfo[] | undefined;
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
  /** The audio server went away: the recording goes on (silence) while the capture reconnects. */
  private serverLost = false;
  /** Captures sharing this one's OS capture (other tap-source nodes on the same app and format). */
  private sharedBy = 1;
  /** Why the capture records silence while the app plays (its stream muted in the mixer), if it does. */
  private silentFor: SilenceEvent['reason'] | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private markEnded!: () => void;
  private readonly activity: ActivityDetector | undefined;
  private readonly split: boolean;
  /** Where the level window being filled began (frames). */
  private windowStart = 0;
  /** Split: segments begun so far; the open one's number while `segmentOpen`. */
  private segments = 0;
  private segmentOpen = false;
  /** Split, between segments: the chunks of the level window being filled. */
  private held: HeldChunk[] = [];

  constructor(
    private readonly capture: Capture,
    options: RecordingOptions,
    private readonly host: RecordingHost,
  ) {
    this.id = options.id;
    this.target = options.target;
    this.targetText = describeTarget(options.target);
    this.format = options.format;
    this.tracks = options.tracks;
    this.extras = options.extras;
    this.topic = options.topic;
    this.emitLevels = options.emitLevels;
    // At least one frame: a tiny positive duration still ends.
    this.limit = options.duration > 0 ? Math.max(1, Math.round(options.duration * options.format.sampleRate)) : Infinity;
    this.meter = new LevelMeter(options.format.channels, options.format.encoding, Math.round(options.format.sampleRate / LEVELS_PER_SECOND));
    const idleSeconds = options.idleSeconds ?? 0;
    this.activity = idleSeconds > 0 ? new ActivityDetector(Math.max(1, Math.round(idleSeconds * options.format.sampleRate)), options.soundDb ?? DEFAULT_SOUND_DB) : undefined;
    this.split = options.split === true && this.activity !== undefined;
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    capture.on('waiting', () => this.onWaiting());
    capture.on('recording', () => this.onRecording());
    capture.on('warning', (text: string, code?: string) => this.onWarning(text, code));
    capture.on('target-gone', (at: TargetEvent) => this.onTarget(false, at));
    capture.on('target-back', (at: TargetEvent) => this.onTarget(true, at));
    capture.on('server-lost', (at: TargetEvent) => this.onServer(false, at));
    capture.on('server-back', (at: TargetEvent) => this.onServer(true, at));
    capture.on('silent-capture', (at: SilenceEvent) => this.onSilence(at));
    capture.on('shared', (count: number) => (this.sharedBy = count));
    capture.on('silent-capture-end', (at: TargetEvent) => this.onSilence(undefined, at));
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

  /** The audio server went away or the capture runs again on a new one: output 2 and the status. */
  private onServer(back: boolean, at: TargetEvent): void {
    this.serverLost = !back;
    this.event(back ? 'server-back' : 'server-lost', { position: at.position, seconds: at.seconds });
    if (this.stateNow === 'recording') this.showRecording();
  }

  /**
   * The capture records silence for a known cause while the app plays (`silent`), or that cause
   * is gone: output 2 (`silent-capture` with reason and message, `silent-capture-end`) and the status.
   */
  private onSilence(silent: SilenceEvent | undefined, at: TargetEvent = silent!): void {
    this.silentFor = silent?.reason;
    if (silent) {
      this.event('silent-capture', { reason: silent.reason, message: silent.message, position: at.position, seconds: at.seconds });
    } else {
      this.event('silent-capture-end', { position: at.position, seconds: at.seconds });
    }
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
    if (this.split && !this.segmentOpen) {
      this.held.push({ data, position });
    } else {
      this.sendChunk(data, position);
    }
    this.timeline = position + frames;
    if (this.meter.add(data)) {
      const levels = this.meter.take();
      this.peakDb = Math.max(...levels.peak);
      if (this.emitLevels) {
        this.event('level', { peak: levels.peak, rms: levels.rms, position: this.timeline, seconds: this.timeline / this.format.sampleRate });
      }
      const change = this.activity?.window(this.windowStart, this.timeline, this.peakDb);
      this.windowStart = this.timeline;
      if (change) this.onActivity(change);
      this.held.length = 0; // a quiet window between segments is not sent
    }
    if (this.timeline >= this.limit && this.stateNow !== 'stopping' && this.stateNow !== 'ended') this.stop();
  }

  /** The recordingId of output 1's messages: the recording's, or (split) the open segment's. */
  private pcmId(): string {
    return this.split ? `${this.id}-${this.segments}` : this.id;
  }

  private sendChunk(data: Buffer, position: number): void {
    this.host.sendPcm({
      ...this.extras,
      topic: this.topic,
      payload: data,
      ...pcmFields(this.format, this.pcmId(), position, this.targetText, this.tracks),
    } as NodeMessage);
  }

  /** The last message of a recording (or segment) on output 1: downstream nodes (wav-sink) finalize. */
  private sendFinal(position: number, reason: string): void {
    const fields = pcmFields(this.format, this.pcmId(), position, this.targetText, this.tracks);
    this.host.sendPcm({
      ...this.extras,
      topic: this.topic,
      payload: Buffer.alloc(0),
      ...fields,
      audio: { ...fields.audio, final: true, reason },
    } as NodeMessage);
  }

  /**
   * The target became active or idle: an event on output 2; with split, a segment begins (with
   * the chunks of the window that had the sound) or ends (its final message, reason 'idle').
   */
  private onActivity(change: ActivityChange): void {
    const at = { position: change.position, seconds: change.position / this.format.sampleRate };
    if (change.kind === 'active') {
      if (this.split) {
        this.segments++;
        this.segmentOpen = true;
      }
      this.event('active', { ...at, ...(this.split ? { segmentId: this.pcmId(), segment: this.segments } : {}) });
      for (const chunk of this.held) this.sendChunk(chunk.data, chunk.position);
      return;
    }
    const quiet = { quietSeconds: (this.timeline - change.position) / this.format.sampleRate };
    if (this.split && this.segmentOpen) {
      this.sendFinal(this.timeline, 'idle');
      this.segmentOpen = false;
      this.event('idle', { ...at, ...quiet, segmentId: this.pcmId(), segment: this.segments });
    } else {
      this.event('idle', { ...at, ...quiet });
    }
    if (this.stateNow === 'recording') this.showRecording();
  }

  /** The status while recording: what matters most first. */
  private statusNow(): NodeStatus {
    const seconds = this.timeline / this.format.sampleRate;
    // A permission warning (macOS: the capture is silent) stays on the status.
    if (this.noPermission) return { fill: 'red', shape: 'ring', text: this.host.t('tap-source.status.noPermission') };
    if (this.serverLost) return { fill: 'yellow', shape: 'ring', text: this.host.t('tap-source.status.serverLost') };
    if (this.targetGone) return { fill: 'yellow', shape: 'dot', text: this.host.t('tap-source.status.gone', { target: this.targetText }) };
    if (this.silentFor === 'muted') return { fill: 'yellow', shape: 'ring', text: this.host.t('tap-source.status.silentMuted', { target: this.targetText }) };
    if (this.activity?.isIdle) return { fill: 'green', shape: 'ring', text: this.host.t('tap-source.status.quiet', { elapsed: recordingStatus(seconds, undefined) }) };
    const text = recordingStatus(seconds, this.peakDb);
    return { fill: 'green', shape: 'dot', text: this.sharedBy > 1 ? this.host.t('tap-source.status.shared', { status: text, count: this.sharedBy }) : text };
  }

  private showRecording(): void {
    this.clearStatusTimer();
    const show = () => this.host.status(this.statusNow());
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
    // nodes (wav-sink) finalize. Split: the open segment's, if one is open (nothing was sent
    // since the last one ended otherwise).
    if (!this.split || this.segmentOpen) this.sendFinal(frames, reason);
    this.segmentOpen = false;
    this.held.length = 0;
    this.event('stopped', {
      reason,
      ...(end.code ? { code: end.code } : {}),
      ...(end.message ? { message: end.message } : {}),
      frames,
      seconds,
      droppedChunks: end.droppedChunks,
      droppedFrames: end.droppedFrames,
      overrunFrames: end.overrunFrames,
      ...(this.split ? { segments: this.segments } : {}),
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

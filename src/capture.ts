/**
 * Capture: one app's output, several apps mixed, the system mix (minus apps), or (macOS) an
 * existing tap, as chunks of interleaved PCM with their timeline position.
 *
 *   const capture = new Capture({ target: { kind: 'app', apps: ['firefox'] } });
 *   capture.on('chunk', (chunk) => …);     // chunk.data: Buffer of interleaved PCM
 *   capture.on('end', (end) => …);         // end.reason: 'stopped' | 'target-exited' | 'error'
 *   await capture.start();
 *   capture.stop();
 */
import { EventEmitter } from 'events';
import { AppRef, checkAppList } from './apps';
import { loadBinding, NativeBinding, NativeCaptureOptions, NativeEnd, NativeStats, NativeTarget } from './binding';
import { ChunkQueue } from './chunk-queue';
import { EngineError } from './apps';
import { CaptureConsumer, SharedCapture, SharedCounters } from './shared-capture';
import { AudioFormat, bytesPerFrame, normalizeFormat, TrackInfo } from './format';

/** What one track of a multitrack capture records. */
export type TrackTarget =
  /** The output of one or more apps, mixed. */
  | { kind: 'app'; apps: AppRef[] }
  /**
   * The system mix (the default output device's, or `device`'s: as a track its own, else
   * CaptureOptions.device), minus `exclude`.
   */
  | { kind: 'system'; exclude?: AppRef[]; device?: string }
  /** An input device (a microphone): a source (Linux), an input device's name or UID (macOS) or an input endpoint's name or ID (Windows), default the default one. */
  | { kind: 'input'; device?: string };

export type CaptureTarget =
  | TrackTarget
  /** macOS: an existing visible process tap, by UID (not owned). */
  | { kind: 'tap'; tapUid: string }
  /**
   * Linux, Windows: several targets (1 to 16) recorded side by side on one timeline: every frame holds
   * each track's `format.channels` samples in turn (Capture.tracks maps them). A sound that
   * reaches several tracks lands on the same frame in each.
   */
  | { kind: 'tracks'; tracks: TrackTarget[] };


export interface CaptureOptions {
  target: CaptureTarget;
  /** Output format; the OS converts. Default 48000 Hz, 2 channels, s16le. */
  format?: Partial<AudioFormat>;
  /** Chunk length in milliseconds, 1..1000 (default 20). */
  chunkMs?: number;
  /**
   * Chunks that may wait for JavaScript before new ones are dropped (default 50); and, while
   * this capture is paused (pause(), an async iterator between pulls), chunks that may wait
   * for its consumer.
   */
  queueChunks?: number;
  /** The app is not heard on its device while captured (Linux, macOS; EUNSUPPORTED on Windows). */
  mute?: boolean;
  /**
   * Overrides `mute`: 'unmuted', 'muted', or (macOS) 'muted-when-tapped', muted only while a
   * capture reads the tap; elsewhere that is the same as 'muted'.
   */
  muteMode?: 'unmuted' | 'muted' | 'muted-when-tapped';
  /**
   * The output device whose mix to capture (target 'system' only): a sink name (Linux), a
   * device UID (macOS), an endpoint ID or device name (Windows). Default: the default output.
   */
  device?: string;
  /** macOS, with `device`: tap only this output stream (see listDevices()); default all. */
  deviceStream?: number;
  /** macOS: the tap is visible to this process only (default true). */
  privateTap?: boolean;
  /**
   * Target 'app': the app's child processes (and theirs) are part of it and their streams are
   * captured too (default true): a browser's audio process, a player's helper. Linux follows
   * the parent chain; Windows' process loopback always captures the tree; macOS taps an app's
   * helpers as its own. false: on Linux, only the processes named.
   */
  processTree?: boolean;
  /**
   * Target 'app', apps named by name: when every process of the app has exited, the capture
   * goes on, silence keeping the timeline at the wall clock, and the app's next run joins it
   * ('target-gone' / 'target-back' events). PIDs are never followed. Default true when a name
   * is among the apps; false ends the capture with reason 'target-exited'. Every OS (the
   * README says what a name matches on each).
   */
  follow?: boolean;
  /**
   * With `follow`: a name that no running process has is an error (ENOAPP) now, instead of
   * being waited for (armed) until the app starts and plays. Default false. Without `follow`
   * a name must always run already.
   */
  strict?: boolean;
  /**
   * Linux: seconds to wait for the audio server when it goes away (killed, restarted,
   * crashed). The capture records silence meanwhile ('server-lost'), reconnects with back-off
   * and, once a server answers, opens its streams there again ('server-back'): the recording
   * goes on, the downtime as silence. It ends with ENOSERVER when no server answered in time.
   * Default 30; 0 ends it at once (within a second of the loss). macOS and Windows end at once.
   */
  serverTimeout?: number;
  /**
   * Share one OS capture with the other captures of this process that have the same options
   * (default true): one that starts while another runs joins it, its positions counting from 0
   * where it joined; the OS capture stops with the last of them. false: a capture of its own.
   */
  share?: boolean;
}

/** Default of CaptureOptions.serverTimeout, in seconds. */
export const DEFAULT_SERVER_TIMEOUT = 30;

/**
 * When a followed app went away or came back, or the audio server did, on the capture's
 * timeline.
 */
export interface TargetEvent {
  /** The timeline's length then, in frames. */
  position: number;
  /** The same, in seconds. */
  seconds: number;
  /** target-gone / target-back of a multitrack capture: the track whose app it is. */
  track?: number;
}

/**
 * The capture records only silence, for a cause the engine knows, while the app plays:
 * reason 'muted' (Linux: the app's stream is muted, or at volume 0, in the mixer; a
 * sink-input's monitor is taken after its volume) or 'permission' (macOS: the host app lacks
 * the system-audio-recording permission). `message` says what to do.
 */
export interface SilenceEvent extends TargetEvent {
  reason: 'muted' | 'permission';
  message: string;
}

export interface AudioChunk {
  /** Interleaved PCM in `format`, `frames` whole frames. */
  data: Buffer;
  /** The chunk's format: for a multitrack capture, channels = tracks × channels per track. */
  format: AudioFormat;
  /**
   * The engine's timeline position of the first frame (frames since the capture started).
   * Chunks dropped because JavaScript fell behind leave a jump: the next chunk's position is
   * past the end of the previous one by the dropped frames.
   */
  position: number;
  frames: number;
}

export interface CaptureEnd {
  reason: 'stopped' | 'target-exited' | 'error';
  /** With reason 'error': EngineError code. */
  code?: string;
  message?: string;
  /** Frames of the timeline: every frame captured, including those of dropped chunks. */
  frames: number;
  /** frames / sampleRate. */
  seconds: number;
  chunks: number;
  /**
   * Chunks dropped because JavaScript fell behind (queueChunks were waiting in the engine), or
   * this capture's consumer did (queueChunks were waiting while it was paused).
   */
  droppedChunks: number;
  /** Frames of those chunks (gaps in the positions the 'chunk' events carried). */
  droppedFrames: number;
  /** Frames lost inside the engine (an OS stream's ring was full). */
  overrunFrames: number;
}

/** Most tracks in one capture (CaptureCore::kMaxTracks). */
export const MAX_TRACKS = 16;

/**
 * One target, checked and converted for the addon; `field` names it in errors. A tap only as
 * the whole target (`tap`), not as a track.
 * @throws TypeError naming the field that is wrong.
 */
function normalizeTarget(target: unknown, field: string, tap: boolean): NativeTarget {
  if (!target || typeof target !== 'object') throw new TypeError(`${field}: expected an object`);
  const t = target as { kind?: unknown; apps?: unknown; exclude?: unknown; device?: unknown; tapUid?: unknown };
  if (t.device !== undefined && typeof t.device !== 'string') throw new TypeError(`${field}.device: expected a string`);
  const device = t.device as string | undefined;
  if (t.kind === 'app') {
    const apps = checkAppList(t.apps, `${field}.apps`);
    if (apps.length === 0) throw new TypeError(`${field}.apps: name at least one app (a PID or a name)`);
    return { kind: 'app', apps };
  }
  const on = device ? { device } : {};
  if (t.kind === 'system') return { kind: 'system', exclude: checkAppList(t.exclude, `${field}.exclude`), ...on };
  if (t.kind === 'input') return { kind: 'input', ...on };
  if (t.kind === 'tap' && tap) {
    if (typeof t.tapUid !== 'string' || !t.tapUid) throw new TypeError(`${field}.tapUid: expected a tap UID`);
    return { kind: 'tap', tapUid: t.tapUid };
  }
  const kinds = tap ? '"app", "system", "input", "tap" or "tracks"' : '"app", "system" or "input"';
  throw new TypeError(`${field}.kind: expected ${kinds}, got ${JSON.stringify(t.kind)}`);
}

/**
 * A target in a few words: "firefox, 1234", "system", "system − vlc", "input (default)",
 * "tap <uid>"; a multitrack capture's, its tracks' joined by " | ".
 */
export function describeTarget(target: CaptureTarget): string {
  if (target.kind === 'app') return target.apps.join(', ');
  if (target.kind === 'system') {
    return target.exclude && target.exclude.length > 0 ? `system − ${target.exclude.join(', ')}` : 'system';
  }
  if (target.kind === 'input') return `input ${target.device || '(default)'}`;
  if (target.kind === 'tracks') return target.tracks.map((track) => describeTarget(track)).join(' | ');
  return `tap ${target.tapUid}`;
}

/** Apps named by name are followed unless asked otherwise (every app track's, for tracks). */
function followsByDefault(target: NativeCaptureOptions['target']): boolean {
  const named = (t: NativeTarget) => t.kind === 'app' && t.apps.some((app) => typeof app === 'string');
  return target.kind === 'tracks' ? target.tracks.some(named) : named(target);
}

/**
 * Checks capture options and converts them for the addon.
 * @throws TypeError naming the field that is wrong.
 */
export function normalizeCaptureOptions(options: CaptureOptions) {
  if (!options || typeof options !== 'object') throw new TypeError('options: expected an object');
  const target = options.target as CaptureTarget | undefined;
  if (!target || typeof target !== 'object') throw new TypeError('target: expected an object');
  let nativeTarget: NativeCaptureOptions['target'];
  let tracks: Array<{ name: string }> | undefined;
  if (target.kind === 'tracks') {
    if (!Array.isArray(target.tracks) || target.tracks.length < 1 || target.tracks.length > MAX_TRACKS) {
      throw new TypeError(`target.tracks: expected 1 to ${MAX_TRACKS} targets, one per track`);
    }
    const each = target.tracks.map((track, i) => normalizeTarget(track, `target.tracks[${i}]`, false));
    nativeTarget = { kind: 'tracks', tracks: each };
    tracks = target.tracks.map((track) => ({ name: describeTarget(track) }));
  } else {
    nativeTarget = normalizeTarget(target, 'target', true);
  }
  const format = normalizeFormat(options.format);
  if (tracks && (options.mute || (options.muteMode !== undefined && options.muteMode !== 'unmuted'))) {
    throw new TypeError('mute: a multitrack capture is not muted; capture its tracks unmuted, or mute one app in a capture of its own');
  }
  const chunkMs = options.chunkMs ?? 20;
  if (typeof chunkMs !== 'number' || !(chunkMs >= 1 && chunkMs <= 1000)) {
    throw new TypeError(`chunkMs: expected a number of milliseconds from 1 to 1000, got ${String(options.chunkMs)}`);
  }
  const queueChunks = options.queueChunks ?? 50;
  if (!Number.isInteger(queueChunks) || queueChunks < 1 || queueChunks > 100000) {
    throw new TypeError(`queueChunks: expected an integer from 1 to 100000, got ${String(options.queueChunks)}`);
  }
  if (options.device !== undefined && typeof options.device !== 'string') {
    throw new TypeError('device: expected a string');
  }
  const muteModes = ['unmuted', 'muted', 'muted-when-tapped'];
  if (options.muteMode !== undefined && !muteModes.includes(options.muteMode)) {
    throw new TypeError(`muteMode: expected "unmuted", "muted" or "muted-when-tapped", got ${JSON.stringify(options.muteMode)}`);
  }
  if (options.processTree !== undefined && typeof options.processTree !== 'boolean') {
    throw new TypeError(`processTree: expected true or false, got ${JSON.stringify(options.processTree)}`);
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean') {
    throw new TypeError(`strict: expected true or false, got ${JSON.stringify(options.strict)}`);
  }
  if (options.follow !== undefined && typeof options.follow !== 'boolean') {
    throw new TypeError(`follow: expected true or false, got ${JSON.stringify(options.follow)}`);
  }
  const serverTimeout = options.serverTimeout ?? DEFAULT_SERVER_TIMEOUT;
  if (typeof serverTimeout !== 'number' || !(serverTimeout >= 0 && serverTimeout <= 86400)) {
    throw new TypeError(`serverTimeout: expected seconds from 0 (end at once) to 86400, got ${JSON.stringify(options.serverTimeout)}`);
  }
  if (options.deviceStream !== undefined && !(Number.isInteger(options.deviceStream) && options.deviceStream >= -1)) {
    throw new TypeError(`deviceStream: expected a stream index (0, 1, …) or -1 for all, got ${String(options.deviceStream)}`);
  }
  return {
    format,
    tracks,
    native: {
      target: nativeTarget,
      sampleRate: format.sampleRate,
      channels: format.channels,
      encoding: format.encoding,
      chunkFrames: Math.max(16, Math.round((format.sampleRate * chunkMs) / 1000)),
      queueChunks,
      mute: options.mute === true,
      muteMode: options.muteMode,
      device: options.device || undefined,
      deviceStream: options.deviceStream,
      privateTap: options.privateTap,
      processTree: options.processTree ?? true,
      strict: options.strict === true,
      follow: options.follow ?? followsByDefault(nativeTarget),
      serverTimeoutMs: Math.round(serverTimeout * 1000),
    },
  };
}

export type CaptureState = 'idle' | 'starting' | 'waiting' | 'recording' | 'ended';

/**
 * One capture. Events:
 * - `waiting`: the target app runs but has no stream yet
 * - `recording`: the first stream joined; chunks follow
 * - `chunk` (AudioChunk)
 * - `warning` (message: string, code?: string): something was left out (a stream that could not
 *   be monitored, …); code 'EPERMISSION' (macOS): the capture is silent because the host app
 *   lacks the system-audio-recording permission (the message says which and where to grant it);
 *   'EBUSY' (Linux, muted capture): a stream of the app is held by another muted capture
 * - `target-gone`, `target-back` (TargetEvent): a followed app's processes have all exited (the
 *   capture goes on, recording silence), or one plays again (`follow`); in a multitrack
 *   capture, `track` says whose (an unfollowed app's track records silence after it exits)
 * - `server-lost`, `server-back` (TargetEvent): the audio server went away (the capture goes
 *   on, recording silence, and reconnects), or the capture runs again on a new one
 *   (`serverTimeout`, Linux)
 * - `silent-capture` (SilenceEvent): the capture records silence for a known cause while the
 *   app plays (its stream muted in the mixer; no permission); `silent-capture-end`
 *   (TargetEvent) when that cause is gone (unmuted, or the muted stream ended)
 * - `shared` (count: number): how many captures share its OS capture now (`share`)
 * - `end` (CaptureEnd): always the last event, once, after every chunk
 *
 * Captures of this process with the same options share one OS capture (src/shared-capture.ts):
 * one that starts while another runs joins it, its positions counting from 0 where it joined.
 *
 * A consumer that cannot take chunks as they come pauses its capture, or reads it with
 * `for await (const chunk of capture)`: chunks wait in the capture's own queue (at most
 * `queueChunks`; a chunk that finds it full is dropped, counted in the end's droppedChunks and
 * left as a jump in the positions). Only this capture drops: others sharing its OS capture get
 * every chunk.
 */
export class Capture extends EventEmitter {
  /** The format of its chunks (a multitrack capture's: channels = tracks × channels). */
  readonly format: AudioFormat;
  /** A multitrack capture's tracks, in frame order; undefined for one target. */
  readonly tracks: TrackInfo[] | undefined;
  state: CaptureState = 'idle';
  private readonly binding: NativeBinding;
  private readonly nativeOptions: NativeCaptureOptions;
  private readonly share: boolean;
  private readonly frameBytes: number;
  private shared: SharedCapture | undefined;
  /** The shared timeline's counters when this capture joined: its own count from there. */
  private base: SharedCounters = { frames: 0, chunks: 0, droppedChunks: 0, droppedFrames: 0 };
  private consumers = 1;
  /** Chunks waiting for this capture's consumer while it is paused. */
  private readonly queue: ChunkQueue<AudioChunk>;
  private paused = false;
  /** The end, once the engine gave it; emitted after the queue has drained. */
  private ending: CaptureEnd | undefined;
  private endEmitted = false;
  /** An async iterator left early: what still comes is not wanted. */
  private discarding = false;
  /** An async iterator waiting for a chunk or the end. */
  private wake: (() => void) | undefined;

  /** @throws TypeError for bad options; Error with code ENOADDON when the addon is missing. */
  constructor(options: CaptureOptions) {
    super();
    const { format, native, tracks } = normalizeCaptureOptions(options);
    if (options.share !== undefined && typeof options.share !== 'boolean') {
      throw new TypeError(`share: expected true or false, got ${JSON.stringify(options.share)}`);
    }
    this.tracks = tracks?.map((track, index) => ({
      index,
      name: track.name,
      firstChannel: index * format.channels,
      channels: format.channels,
    }));
    this.format = tracks ? { ...format, channels: format.channels * tracks.length } : format;
    this.frameBytes = bytesPerFrame(this.format);
    this.nativeOptions = native;
    this.share = options.share !== false;
    this.queue = new ChunkQueue(native.queueChunks);
    this.binding = loadBinding();
  }

  /** The capture's end (what the 'end' event carries) once it has been emitted. */
  get result(): CaptureEnd | undefined {
    return this.endEmitted ? this.ending : undefined;
  }

  /** True while chunks wait in this capture's queue instead of being emitted (pause()). */
  isPaused(): boolean {
    return this.paused;
  }

  /**
   * No more 'chunk' events until resume(): chunks wait in this capture's own queue (at most
   * queueChunks; later ones are dropped and counted). The 'end' event waits for the queue to
   * drain. Captures sharing the OS capture are not held back.
   */
  pause(): this {
    this.paused = true;
    return this;
  }

  /** Emits the chunks that waited ('chunk'), then 'end' if the capture has ended; goes on live. */
  resume(): this {
    this.paused = false;
    for (let chunk = this.queue.shift(); chunk; chunk = this.paused ? undefined : this.queue.shift()) {
      this.emit('chunk', chunk);
    }
    this.emitEndIfDrained();
    return this;
  }

  /** While paused: the oldest waiting chunk, or undefined when none waits. */
  read(): AudioChunk | undefined {
    const chunk = this.queue.shift();
    if (this.queue.length === 0 && this.ending && !this.endEmitted) process.nextTick(() => this.emitEndIfDrained());
    return chunk;
  }

  /**
   * The chunks, as a consumer takes them: `for await (const chunk of capture) …`. The capture
   * is paused, so chunks wait between pulls (at most queueChunks, then dropped and counted).
   * The loop ends after the last chunk; with end reason 'error' it throws the EngineError
   * (code, message). Leaving the loop early (break, throw) stops the capture. Start the
   * capture before or after; the end's counters are in capture.result after the loop.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<AudioChunk, void, undefined> {
    this.pause();
    let finished = false;
    try {
      for (;;) {
        const chunk = this.read();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (this.ending) {
          finished = true;
          this.emitEndIfDrained();
          if (this.ending.reason === 'error') {
            throw Object.assign(new Error(this.ending.message || 'the capture ended with an error'), {
              code: this.ending.code || 'EUNKNOWN',
            }) as EngineError;
          }
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      if (!finished) {
        // Left early: the consumer wants nothing more; the end follows once the engine ends.
        this.discarding = true;
        while (this.queue.shift());
        this.stop();
      }
    }
  }

  /** Captures (this one included) that share its OS capture now: 1 when it has its own. */
  get sharedBy(): number {
    return this.consumers;
  }

  /**
   * Opens the OS streams, or joins a running capture of the same options (`share`). Resolves
   * once the capture records or waits for its target.
   * @throws EngineError (ENOSERVER, ENOAPP, EAMBIGUOUS, …); no 'end' event follows then.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`start: this capture is ${this.state}; create a new one`);
    this.state = 'starting';
    const shared = SharedCapture.join(this.binding, this.nativeOptions, this.consumer, this.share);
    this.shared = shared;
    // A running capture's timeline goes on: this one counts from here.
    this.base = { ...shared.counters };
    const joined = shared.state === 'waiting' || shared.state === 'recording';
    try {
      await shared.started;
    } catch (error) {
      this.state = 'ended';
      throw error;
    }
    if (joined && this.state === 'starting') this.consumer.onState(shared.state as 'waiting' | 'recording');
  }

  /** Stops; what is buffered is delivered, then 'end' with reason 'stopped'. Idempotent. */
  stop(): void {
    if (this.state === 'idle') {
      this.state = 'ended';
      return;
    }
    if (this.state === 'ended' || !this.shared) return;
    if (this.shared.leave(this.consumer)) {
      // Others go on recording: this one ends where the shared timeline is, on the next turn.
      const counters = this.shared.counters;
      const end: NativeEnd = {
        reason: 'stopped',
        frames: counters.frames,
        chunks: counters.chunks,
        droppedChunks: counters.droppedChunks,
        droppedFrames: counters.droppedFrames,
        overrunFrames: 0,
      };
      setImmediate(() => this.consumer.onEnd(end));
    }
  }

  /** The engine's counters, from where this capture joined. */
  stats(): NativeStats {
    const stats = this.shared ? this.shared.stats() : { frames: 0, chunks: 0, droppedChunks: 0, droppedFrames: 0, overrunFrames: 0, sources: 0 };
    return {
      ...stats,
      frames: Math.max(0, stats.frames - this.base.frames),
      chunks: Math.max(0, stats.chunks - this.base.chunks),
      droppedChunks: Math.max(0, stats.droppedChunks - this.base.droppedChunks) + this.queue.droppedChunks,
      droppedFrames: Math.max(0, stats.droppedFrames - this.base.droppedFrames) + this.queue.droppedFrames,
    };
  }

  /** What the shared capture tells this one; positions made relative to where it joined. */
  private readonly consumer: CaptureConsumer = {
    onState: (state) => {
      if (this.state === 'ended' || this.state === state) return;
      this.state = state;
      this.emit(state);
    },
    onChunk: (data, position) => {
      const chunk: AudioChunk = {
        data,
        format: this.format,
        position: position - this.base.frames,
        frames: data.length / this.frameBytes,
      };
      if (this.discarding) return;
      if (!this.paused) {
        this.emit('chunk', chunk);
        return;
      }
      this.queue.push(chunk);
      this.wake?.();
    },
    onWarning: (text, code) => this.emit('warning', text, code || undefined),
    onPresence: (kind, back, shared, track) => {
      const position = this.relative(shared);
      const name = kind === 'target' ? (back ? 'target-back' : 'target-gone') : back ? 'server-back' : 'server-lost';
      const event: TargetEvent = { position, seconds: position / this.format.sampleRate };
      if (track !== undefined) event.track = track;
      this.emit(name, event);
    },
    onSilence: (silent, shared, reason, message) => {
      const at = { position: this.relative(shared), seconds: this.relative(shared) / this.format.sampleRate };
      if (silent) {
        this.emit('silent-capture', { ...at, reason: reason as SilenceEvent['reason'], message } satisfies SilenceEvent);
      } else {
        this.emit('silent-capture-end', at satisfies TargetEvent);
      }
    },
    onEnd: (end) => {
      if (this.state === 'ended') return;
      this.state = 'ended';
      const base = this.base;
      const frames = Math.max(0, end.frames - base.frames);
      this.ending = {
        ...end,
        frames,
        chunks: Math.max(0, end.chunks - base.chunks),
        droppedChunks: Math.max(0, end.droppedChunks - base.droppedChunks) + this.queue.droppedChunks,
        droppedFrames: Math.max(0, end.droppedFrames - base.droppedFrames) + this.queue.droppedFrames,
        seconds: frames / this.format.sampleRate,
      };
      this.emitEndIfDrained();
      this.wake?.();
    },
    onConsumers: (count) => {
      this.consumers = count;
      this.emit('shared', count);
    },
  };

  /** 'end', once: after the engine ended and no chunk waits in this capture's queue. */
  private emitEndIfDrained(): void {
    if (!this.ending || this.endEmitted || this.queue.length > 0) return;
    this.endEmitted = true;
    this.emit('end', this.ending);
  }

  private relative(position: number): number {
    return Math.max(0, position - this.base.frames);
  }
}

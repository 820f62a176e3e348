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
import { loadBinding, NativeCapture, NativeEnd, NativeStats } from './binding';
import { AudioFormat, bytesPerFrame, normalizeFormat } from './format';

export type CaptureTarget =
  /** The output of one or more apps, mixed. */
  | { kind: 'app'; apps: AppRef[] }
  /** The system mix (the default output device's, or `device`'s), minus `exclude`. */
  | { kind: 'system'; exclude?: AppRef[] }
  /** macOS: an existing visible process tap, by UID (not owned). */
  | { kind: 'tap'; tapUid: string };

export interface CaptureOptions {
  target: CaptureTarget;
  /** Output format; the OS converts. Default 48000 Hz, 2 channels, s16le. */
  format?: Partial<AudioFormat>;
  /** Chunk length in milliseconds, 1..1000 (default 20). */
  chunkMs?: number;
  /** Chunks that may wait for JavaScript before new ones are dropped (default 50). */
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
  /** Chunks dropped because JavaScript fell behind (queueChunks were waiting). */
  droppedChunks: number;
  /** Frames of those chunks (gaps in the positions the 'chunk' events carried). */
  droppedFrames: number;
  /** Frames lost inside the engine (an OS stream's ring was full). */
  overrunFrames: number;
}

/**
 * Checks capture options and converts them for the addon.
 * @throws TypeError naming the field that is wrong.
 */
export function normalizeCaptureOptions(options: CaptureOptions) {
  if (!options || typeof options !== 'object') throw new TypeError('options: expected an object');
  const target = options.target as CaptureTarget | undefined;
  if (!target || typeof target !== 'object') throw new TypeError('target: expected an object');
  let nativeTarget;
  if (target.kind === 'app') {
    const apps = checkAppList(target.apps, 'target.apps');
    if (apps.length === 0) throw new TypeError('target.apps: name at least one app (a PID or a name)');
    nativeTarget = { kind: 'app' as const, apps };
  } else if (target.kind === 'system') {
    nativeTarget = { kind: 'system' as const, exclude: checkAppList(target.exclude, 'target.exclude') };
  } else if (target.kind === 'tap') {
    if (typeof target.tapUid !== 'string' || !target.tapUid) throw new TypeError('target.tapUid: expected a tap UID');
    nativeTarget = { kind: 'tap' as const, tapUid: target.tapUid };
  } else {
    throw new TypeError(`target.kind: expected "app", "system" or "tap", got ${JSON.stringify((target as { kind?: unknown }).kind)}`);
  }
  const format = normalizeFormat(options.format);
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
      follow: options.follow ?? (nativeTarget.kind === 'app' && nativeTarget.apps.some((app) => typeof app === 'string')),
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
 *   capture goes on, recording silence), or one plays again (`follow`)
 * - `server-lost`, `server-back` (TargetEvent): the audio server went away (the capture goes
 *   on, recording silence, and reconnects), or the capture runs again on a new one
 *   (`serverTimeout`, Linux)
 * - `silent-capture` (SilenceEvent): the capture records silence for a known cause while the
 *   app plays (its stream muted in the mixer; no permission); `silent-capture-end`
 *   (TargetEvent) when that cause is gone (unmuted, or the muted stream ended)
 * - `end` (CaptureEnd): always the last event, once, after every chunk
 */
export class Capture extends EventEmitter {
  readonly format: AudioFormat;
  state: CaptureState = 'idle';
  private readonly native: NativeCapture;
  private readonly frameBytes: number;

  /** @throws TypeError for bad options; Error with code ENOADDON when the addon is missing. */
  constructor(options: CaptureOptions) {
    super();
    const { format, native } = normalizeCaptureOptions(options);
    this.format = format;
    this.frameBytes = bytesPerFrame(format);
    const binding = loadBinding();
    this.native = new binding.Capture(native, (type: string, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => {
      switch (type) {
        case 'state':
          if (this.state === 'ended') return;
          this.state = a as 'waiting' | 'recording';
          this.emit(this.state);
          break;
        case 'chunk': {
          const data = a as Buffer;
          this.emit('chunk', {
            data,
            format: this.format,
            position: b as number,
            frames: data.length / this.frameBytes,
          } satisfies AudioChunk);
          break;
        }
        case 'warning':
          this.emit('warning', a as string, (b as string) || undefined);
          break;
        case 'target':
        case 'server': {
          const position = b as number;
          const name = type === 'target' ? (a === 'back' ? 'target-back' : 'target-gone') : a === 'back' ? 'server-back' : 'server-lost';
          this.emit(name, { position, seconds: position / this.format.sampleRate } satisfies TargetEvent);
          break;
        }
        case 'silence': {
          const at = { position: b as number, seconds: (b as number) / this.format.sampleRate };
          if (a === 'silent') {
            this.emit('silent-capture', { ...at, reason: c as SilenceEvent['reason'], message: d as string } satisfies SilenceEvent);
          } else {
            this.emit('silent-capture-end', at satisfies TargetEvent);
          }
          break;
        }
        case 'end': {
          const end = a as NativeEnd;
          this.state = 'ended';
          this.emit('end', { ...end, seconds: end.frames / this.format.sampleRate } satisfies CaptureEnd);
          break;
        }
      }
    });
  }

  /**
   * Opens the OS streams. Resolves once the capture records or waits for its target.
   * @throws EngineError (ENOSERVER, ENOAPP, EAMBIGUOUS, …); no 'end' event follows then.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error(`start: this capture is ${this.state}; create a new one`);
    this.state = 'starting';
    try {
      await this.native.start();
    } catch (error) {
      this.state = 'ended';
      throw error;
    }
  }

  /** Stops; what is buffered is delivered, then 'end' with reason 'stopped'. Idempotent. */
  stop(): void {
    if (this.state === 'idle') {
      this.state = 'ended';
      return;
    }
    this.native.stop();
  }

  stats(): NativeStats {
    return this.native.stats();
  }
}

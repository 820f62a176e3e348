/**
 * The typed engine API, usable without Node-RED:
 *
 *   const apps = await listApps();
 *   const capture = new Capture({ target: { kind: 'app', apps: ['firefox'] } });
 *   capture.on('chunk', (chunk) => …);     // chunk.data: Buffer of interleaved PCM
 *   capture.on('end', (end) => …);         // end.reason: 'stopped' | 'target-exited' | 'error'
 *   await capture.start();
 *   capture.stop();
 */
import { EventEmitter } from 'events';
import { loadBinding, NativeApp, NativeCapture, NativeDevice, NativeEnd, NativePlayback, NativePlaybackStats, NativeStats, NativeTap } from './binding';
import { AudioFormat, bytesPerFrame, normalizeFormat } from './format';

/** An app: a process ID, or a name matched case-insensitively against app and executable names. */
export type AppRef = number | string;

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
}

/**
 * An app with audio streams: pid, name, executable, bundleId (macOS), streams (sink-inputs,
 * sessions or process objects), playing (a stream runs now), volume (linear gain 0..1,
 * averaged over its streams), muted.
 */
export type AppInfo = NativeApp;

/** An output device: id (what `device` takes), name, isDefault, outputStreams (index, channels, sampleRate in Hz). */
export type DeviceInfo = NativeDevice;

/** An existing visible process tap (macOS): uid (what target {kind: 'tap'} takes), name, channels, sampleRate (Hz). */
export type TapInfo = NativeTap;

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

/** An error from the engine, with a stable `code` (ENOLIB, ENOSERVER, ENOAPP, EAMBIGUOUS, …). */
export interface EngineError extends Error {
  code: string;
}

/**
 * An app reference from a form or a message: a positive integer (or a string of digits) is a
 * PID, any other non-empty string an app name (trimmed).
 * @throws TypeError naming `field` for anything else.
 */
export function checkAppRef(value: unknown, field: string): AppRef {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    return /^\d+$/.test(text) ? Number(text) : text;
  }
  throw new TypeError(`${field}: expected a PID (positive integer) or an app name, got ${JSON.stringify(value)}`);
}

function checkAppList(value: unknown, field: string): AppRef[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => checkAppRef(item, `${field}[${i}]`));
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
    this.native = new binding.Capture(native, (type: string, a?: unknown, b?: unknown) => {
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

/** Apps with audio streams now, one per process. @throws EngineError (ENOLIB, ENOSERVER). */
export function listApps(): Promise<AppInfo[]> {
  return loadBinding().listApps();
}

/** Output devices. @throws EngineError (ENOSERVER; EUNSUPPORTED where a backend cannot list them). */
export function listDevices(): Promise<DeviceInfo[]> {
  return loadBinding().listDevices();
}

/** Existing visible process taps (macOS; empty elsewhere). @throws EngineError. */
export function listTaps(): Promise<TapInfo[]> {
  return loadBinding().listTaps();
}

/**
 * Sets an app's volume (linear gain 0..1) and/or mute.
 * @throws TypeError for bad arguments; EngineError (ENOAPP, EAMBIGUOUS, EUNSUPPORTED).
 */
export function setAppVolume(app: AppRef, settings: { volume?: number; mute?: boolean }): Promise<void> {
  const ref = checkAppRef(app, 'app');
  const { volume, mute } = settings ?? {};
  if (volume !== undefined && !(typeof volume === 'number' && volume >= 0 && volume <= 1)) {
    throw new TypeError(`volume: expected a linear gain from 0 to 1, got ${String(volume)}`);
  }
  if (mute !== undefined && typeof mute !== 'boolean') throw new TypeError('mute: expected true or false');
  return loadBinding().setAppVolume(ref, volume ?? null, mute ?? null);
}

/** The backend serving this platform: 'pulse' | 'coreaudio' | 'wasapi'. */
export function backendName(): string {
  return loadBinding().backend();
}

export interface PlaybackOptions {
  format: AudioFormat;
  /** Output device: a sink name (Linux), a device UID or name (macOS), an endpoint ID or name (Windows). Default: the default output. */
  device?: string;
  /** Jitter buffer: audio gathered before playing starts, and again after an underrun (ms, default 100). */
  bufferMs?: number;
  /** Most audio held (ms, default 4 × bufferMs); more is dropped and counted as overrun. */
  capacityMs?: number;
}

export interface PlaybackStats {
  /** Frames of written audio played. */
  playedFrames: number;
  /** Times the jitter buffer ran dry while playing (silence was played). */
  underruns: number;
  /** Written frames dropped because the buffer was full. */
  overrunFrames: number;
  /** Frames waiting now. */
  bufferedFrames: number;
  /** The OS's output latency after the jitter buffer, in frames (-1 unknown). */
  outputLatencyFrames: number;
}

/**
 * Plays PCM to an output device through a bounded jitter buffer. write() never blocks: what
 * does not fit is dropped and counted.
 */
export class Playback {
  readonly format: AudioFormat;
  private readonly native: NativePlayback;
  private readonly frameBytes: number;

  /** @throws TypeError naming a bad option. */
  constructor(options: PlaybackOptions) {
    this.format = normalizeFormat(options?.format);
    this.frameBytes = bytesPerFrame(this.format);
    const bufferMs = options.bufferMs ?? 100;
    if (typeof bufferMs !== 'number' || !(bufferMs >= 1 && bufferMs <= 10000)) {
      throw new TypeError(`bufferMs: expected milliseconds from 1 to 10000, got ${String(options.bufferMs)}`);
    }
    const capacityMs = options.capacityMs ?? 4 * bufferMs;
    if (typeof capacityMs !== 'number' || !(capacityMs >= bufferMs && capacityMs <= 60000)) {
      throw new TypeError(`capacityMs: expected milliseconds from bufferMs to 60000, got ${String(options.capacityMs)}`);
    }
    if (options.device !== undefined && typeof options.device !== 'string') throw new TypeError('device: expected a string');
    const frames = (ms: number) => Math.max(1, Math.round((this.format.sampleRate * ms) / 1000));
    this.native = new (loadBinding().Playback)({
      sampleRate: this.format.sampleRate,
      channels: this.format.channels,
      encoding: this.format.encoding,
      bufferFrames: frames(bufferMs),
      capacityFrames: frames(capacityMs),
      device: options.device || undefined,
    });
  }

  /** Opens the output stream. @throws EngineError (ENOSERVER, ENOAPP for an unknown device, EUNSUPPORTED). */
  start(): Promise<void> {
    return this.native.start();
  }

  /**
   * Queues interleaved PCM in this playback's format; returns the frames accepted.
   * @throws RangeError when `data` is not whole frames.
   */
  write(data: Buffer): number {
    return this.native.write(data);
  }

  /** Plays out what is buffered without waiting for a full jitter buffer (the end of a stream). */
  drain(): void {
    this.native.drain();
  }

  stop(): void {
    this.native.stop();
  }

  stats(): PlaybackStats {
    return this.native.stats() as NativePlaybackStats;
  }

  /** Bytes per frame of this playback's format. */
  get bytesPerFrame(): number {
    return this.frameBytes;
  }
}

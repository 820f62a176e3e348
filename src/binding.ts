/**
 * The only module that loads the native addon. It prefers a prebuilt binary for this platform
 * (prebuilds/, made by prebuildify) and falls back to the one built from source by node-gyp.
 */
import path from 'path';

/** A process that has (or had) audio streams, as the engine lists it. */
export interface NativeApp {
  pid: number;
  name: string;
  executable: string;
  bundleId?: string;
  streams: number;
  playing: boolean;
  volume: number;
  muted: boolean;
}

/** One target as the addon takes it; `device` for an input, or a system track's sink. */
export type NativeTarget =
  | { kind: 'app'; apps: Array<number | string> }
  | { kind: 'system'; exclude: Array<number | string>; device?: string }
  | { kind: 'input'; device?: string }
  | { kind: 'tap'; tapUid: string };

export interface NativeCaptureOptions {
  /** 'tracks': one target per track, side by side in every frame (Linux). */
  target: NativeTarget | { kind: 'tracks'; tracks: NativeTarget[] };
  sampleRate: number;
  channels: number;
  encoding: 's16le' | 'f32le';
  chunkFrames: number;
  queueChunks: number;
  mute: boolean;
  muteMode?: 'unmuted' | 'muted' | 'muted-when-tapped';
  device?: string;
  deviceStream?: number;
  privateTap?: boolean;
  processTree?: boolean;
  follow?: boolean;
  strict?: boolean;
  /** Linux: how long to wait for a lost audio server, ms (0: end at once). */
  serverTimeoutMs?: number;
}

export interface NativeEnd {
  reason: 'stopped' | 'target-exited' | 'error';
  code?: string;
  message?: string;
  frames: number;
  chunks: number;
  droppedChunks: number;
  droppedFrames: number;
  overrunFrames: number;
}

export interface NativeStats {
  frames: number;
  chunks: number;
  droppedChunks: number;
  droppedFrames: number;
  overrunFrames: number;
  sources: number;
}

export type NativeEvent =
  | ['state', 'waiting' | 'recording']
  | ['chunk', Buffer, number]
  /** message, and the warning's code ('' when it has none: EPERMISSION, EBUSY, …). */
  | ['warning', string, string]
  /** A followed target went ('gone') or came back ('back'), at this timeline length in frames. */
  | ['target', 'gone' | 'back', number, number | undefined]
  /** The audio server went away ('gone') or the capture runs again on a new one ('back'), at this timeline length in frames. */
  | ['server', 'gone' | 'back', number]
  /** The capture became silent for a known cause ('silent': reason, message) or that cause is gone ('audible'), at this timeline length in frames. */
  | ['silence', 'silent' | 'audible', number, string, string]
  | ['end', NativeEnd];

export interface NativeCapture {
  start(): Promise<void>;
  stop(): void;
  stats(): NativeStats;
}

export interface NativePlaybackStats {
  playedFrames: number;
  underruns: number;
  overrunFrames: number;
  bufferedFrames: number;
  outputLatencyFrames: number;
}

export interface NativePlayback {
  start(): Promise<void>;
  write(data: Buffer): number;
  drain(): void;
  stop(): void;
  stats(): NativePlaybackStats;
}

export interface NativeDevice {
  id: string;
  name: string;
  isDefault: boolean;
  outputStreams: Array<{ index: number; channels: number; sampleRate: number }>;
}

export interface NativeTap {
  uid: string;
  name: string;
  channels: number;
  sampleRate: number;
}

export interface NativeBinding {
  listApps(): Promise<NativeApp[]>;
  listDevices(): Promise<NativeDevice[]>;
  listTaps(): Promise<NativeTap[]>;
  setAppVolume(app: number | string, volume: number | null, mute: boolean | null): Promise<void>;
  backend(): string;
  Capture: new (
    options: NativeCaptureOptions,
    onEvent: (...event: NativeEvent) => void,
  ) => NativeCapture;
  Playback: new (options: {
    sampleRate: number;
    channels: number;
    encoding: string;
    bufferFrames: number;
    capacityFrames: number;
    device?: string;
  }) => NativePlayback;
  [dsp: string]: unknown;
}

let binding: NativeBinding | undefined;
let loadError: Error | undefined;

/**
 * Loads the addon once. Throws an Error with code `ENOADDON` that says how to build it when
 * neither a prebuild nor a source build exists.
 */
export function loadBinding(): NativeBinding {
  if (binding) return binding;
  if (loadError) throw loadError;
  const root = path.resolve(__dirname, '..', '..');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    binding = require('node-gyp-build')(root) as NativeBinding;
    return binding;
  } catch (cause) {
    const error = new Error(
      `the audio-tap native addon could not be loaded (${(cause as Error).message}). ` +
        `Build it with \`npm rebuild node-red-contrib-audio-tap\` (needs python3, make, a C++ ` +
        `compiler and, on Linux, libpulse-dev).`,
    ) as Error & { code: string };
    error.code = 'ENOADDON';
    loadError = error;
    throw error;
  }
}

/**
 * PCM formats and the message shape every node of this package emits and accepts.
 */
import { asNumber } from './numbers';

/** Sample encodings: little-endian, interleaved. s16le full scale is ±32767, f32le ±1.0. */
export type Encoding = 's16le' | 'f32le';

/** A PCM stream's format. */
export interface AudioFormat {
  /** Frames per second (Hz), 8000..192000. */
  sampleRate: number;
  /**
   * Samples per frame: 1 (mono) or 2 (stereo, interleaved L R); a multitrack capture's chunks
   * hold tracks × that, the tracks side by side (AudioChunk.tracks).
   */
  channels: number;
  encoding: Encoding;
}

export const DEFAULT_FORMAT: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' };

/** Most channels a PCM message carries: 16 tracks of stereo (a multitrack capture). */
export const MAX_MESSAGE_CHANNELS = 32;

/** One track of a multitrack recording's frames (msg.audio.tracks, Capture.tracks). */
export interface TrackInfo {
  /** Its place, 0-based. */
  index: number;
  /** What it records, in a few words ("firefox", "system", "input (default)"). */
  name: string;
  /** Its first channel in a frame (index × channels), and its channel count. */
  firstChannel: number;
  channels: number;
}

/** Bits per sample: 16 for s16le, 32 for f32le. */
export function bitDepth(encoding: Encoding): 16 | 32 {
  return encoding === 's16le' ? 16 : 32;
}

/** Bytes per frame (all channels of one sample instant). */
export function bytesPerFrame(format: AudioFormat): number {
  return format.channels * (bitDepth(format.encoding) / 8);
}

/**
 * Checks a (possibly partial) format and fills in defaults. `maxChannels`: 2 for what a capture
 * or a playback asks for; MAX_MESSAGE_CHANNELS for a message (a multitrack recording's).
 * @throws TypeError naming the field when a value is of the wrong type or out of range.
 */
export function normalizeFormat(format: Partial<AudioFormat> | undefined, maxChannels = 2): AudioFormat {
  const given = format ?? {};
  // An unset field (missing or undefined) takes the default.
  const f = {
    sampleRate: given.sampleRate ?? DEFAULT_FORMAT.sampleRate,
    channels: given.channels ?? DEFAULT_FORMAT.channels,
    encoding: given.encoding ?? DEFAULT_FORMAT.encoding,
  };
  const rate = asNumber(f.sampleRate);
  if (rate === undefined || !Number.isInteger(rate) || rate < 8000 || rate > 192000) {
    throw new TypeError(`sampleRate: expected an integer from 8000 to 192000 Hz, got ${String(f.sampleRate)}`);
  }
  const channels = asNumber(f.channels);
  if (channels === undefined || !Number.isInteger(channels) || channels < 1 || channels > maxChannels) {
    const range = maxChannels === 2 ? '1 or 2' : `1 to ${maxChannels}`;
    throw new TypeError(`channels: expected ${range}, got ${String(f.channels)}`);
  }
  if (f.encoding !== 's16le' && f.encoding !== 'f32le') {
    throw new TypeError(`encoding: expected "s16le" or "f32le", got ${JSON.stringify(f.encoding)}`);
  }
  return { sampleRate: rate, channels, encoding: f.encoding };
}

/** `msg.audio` of a PCM message. */
export interface AudioInfo extends AudioFormat {
  bitDepth: 16 | 32;
  /** One id per recording; a new id is a new stream. */
  recordingId: string;
  /** Index (frames) of this chunk's first frame in the recording. */
  position: number;
  /** What is captured, for people and file names: app names/PIDs, or "system". */
  source?: string;
  /**
   * Set on the last message of a recording, whose payload is empty: the recording ended
   * (files are finalized, filter state can go).
   */
  final?: true;
  /** With `final`: why the recording ended ('stopped' | 'target-exited' | 'error'). */
  reason?: string;
  /** A multitrack recording: its tracks, side by side in every frame (channels = their sum). */
  tracks?: TrackInfo[];
}

/** A PCM message as the nodes of this package emit it. */
export interface PcmMessage {
  /** Interleaved PCM, whole frames. */
  payload: Buffer;
  topic?: string;
  audio: AudioInfo;
  /** node-red-contrib-sox-utils compatibility: 'raw' plus rate, bits, channels, encoding. */
  format: 'raw';
  rate: number;
  bits: number;
  channels: number;
  encoding: 'signed-integer' | 'floating-point';
  [key: string]: unknown;
}

/** Builds the format fields of a PCM message (everything but payload and topic). */
export function pcmFields(format: AudioFormat, recordingId: string, position: number, source?: string, tracks?: TrackInfo[]) {
  const bits = bitDepth(format.encoding);
  return {
    audio: { ...format, bitDepth: bits, recordingId, position, ...(source ? { source } : {}), ...(tracks ? { tracks } : {}) } as AudioInfo,
    format: 'raw' as const,
    rate: format.sampleRate,
    bits,
    channels: format.channels,
    encoding: format.encoding === 's16le' ? ('signed-integer' as const) : ('floating-point' as const),
  };
}

/**
 * Reads the format of an incoming PCM message (`msg.audio`, else the sox-utils fields).
 * @throws TypeError saying what is missing or wrong.
 */
export function formatOfMessage(msg: Record<string, unknown>): AudioFormat {
  const audio = msg.audio as Partial<AudioInfo> | undefined;
  if (audio && typeof audio === 'object') {
    return normalizeFormat({ sampleRate: audio.sampleRate, channels: audio.channels, encoding: audio.encoding }, MAX_MESSAGE_CHANNELS);
  }
  if (msg.format === 'raw' && msg.rate !== undefined) {
    const encoding =
      msg.encoding === 'signed-integer' && msg.bits === 16
        ? 's16le'
        : msg.encoding === 'floating-point' && msg.bits === 32
          ? 'f32le'
          : undefined;
    if (!encoding) {
      throw new TypeError(
        `msg.encoding/msg.bits: only signed-integer 16-bit and floating-point 32-bit PCM are supported, got ${String(msg.encoding)} ${String(msg.bits)}-bit`,
      );
    }
    return normalizeFormat({ sampleRate: msg.rate as number, channels: msg.channels as number, encoding }, MAX_MESSAGE_CHANNELS);
  }
  throw new TypeError('msg.audio: missing; a PCM message needs msg.audio {sampleRate, channels, encoding} (as tap-source sends)');
}

/**
 * One track of a multitrack recording's interleaved PCM: channels `track.firstChannel` ..
 * + `track.channels` of every frame of `pcm` (in `format`, whose channels hold every track).
 * @returns a new Buffer of the same frames, `track.channels` samples each.
 */
export function trackPcm(pcm: Buffer, format: AudioFormat, track: Pick<TrackInfo, 'firstChannel' | 'channels'>): Buffer {
  const sample = bitDepth(format.encoding) / 8;
  const frameBytes = format.channels * sample;
  const frames = Math.floor(pcm.length / frameBytes);
  const size = track.channels * sample;
  const out = Buffer.allocUnsafe(frames * size);
  for (let i = 0, from = track.firstChannel * sample, to = 0; i < frames; i++, from += frameBytes, to += size) {
    pcm.copy(out, to, from, from + size);
  }
  return out;
}

/** Same sample rate, channels and encoding. */
export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels && a.encoding === b.encoding;
}

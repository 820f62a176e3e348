/**
 * The PCM message format shared by the nodes (msg.payload + msg.audio, see README), and its
 * checks. Every check throws TypeError/RangeError whose message names the offending field.
 */

export type PcmEncoding = 's16le' | 'f32le';

/** Format of interleaved little-endian PCM: sampleRate Hz, 1 or 2 channels. */
export interface PcmFormat {
  sampleRate: number;
  channels: 1 | 2;
  encoding: PcmEncoding;
}

/** Bytes per sample (one channel of one frame). */
export function bytesPerSample(encoding: PcmEncoding): 2 | 4 {
  return encoding === 's16le' ? 2 : 4;
}

/** Bytes per frame (all channels). */
export function bytesPerFrame(format: PcmFormat): number {
  return bytesPerSample(format.encoding) * format.channels;
}

interface AudioFields {
  sampleRate?: unknown;
  channels?: unknown;
  bitDepth?: unknown;
  encoding?: unknown;
}

/**
 * Reads the format of a PCM message from msg.audio, or, when msg.audio is absent, from the
 * node-red-contrib-sox-utils fields (msg.format = 'raw', msg.rate, msg.channels, msg.bits,
 * msg.encoding = 'signed-integer' (16 bits) | 'floating-point' (32 bits)).
 * Throws TypeError/RangeError naming the missing or wrong field.
 */
export function readPcmFormat(msg: Record<string, unknown>): PcmFormat {
  let fields: AudioFields;
  let at: string;
  if (msg.audio !== undefined) {
    if (msg.audio === null || typeof msg.audio !== 'object') {
      throw new TypeError('msg.audio must be an object with sampleRate, channels and encoding');
    }
    fields = msg.audio as AudioFields;
    at = 'msg.audio.';
  } else if (msg.format === 'raw' && msg.rate !== undefined) {
    const encoding =
      msg.encoding === 'signed-integer' && msg.bits === 16
        ? 's16le'
        : msg.encoding === 'floating-point' && msg.bits === 32
          ? 'f32le'
          : undefined;
    if (!encoding) {
      throw new RangeError(
        `msg.encoding/msg.bits must be signed-integer/16 or floating-point/32 (got ${String(msg.encoding)}/${String(msg.bits)})`,
      );
    }
    fields = { sampleRate: msg.rate, channels: msg.channels, encoding };
    at = 'msg.';
  } else {
    throw new TypeError(
      'msg.audio is missing: expected a PCM message (msg.audio = { sampleRate, channels, encoding }) as tap-source sends',
    );
  }
  const rateName = at === 'msg.' ? 'msg.rate' : 'msg.audio.sampleRate';
  const { sampleRate, channels, encoding } = fields;
  if (typeof sampleRate !== 'number' || !Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 768000) {
    throw new RangeError(`${rateName} must be an integer number of Hz in 1000..768000 (got ${String(sampleRate)})`);
  }
  if (channels !== 1 && channels !== 2) {
    throw new RangeError(`${at}channels must be 1 or 2 (got ${String(channels)})`);
  }
  if (encoding !== 's16le' && encoding !== 'f32le') {
    throw new RangeError(`${at}encoding must be 's16le' or 'f32le' (got ${JSON.stringify(encoding)})`);
  }
  if (fields.bitDepth !== undefined && fields.bitDepth !== (encoding === 's16le' ? 16 : 32)) {
    throw new RangeError(`${at}bitDepth ${String(fields.bitDepth)} does not match encoding ${encoding}`);
  }
  return { sampleRate, channels, encoding };
}

/** Throws unless `payload` is a Buffer of whole frames of `format`. */
export function checkPayload(payload: unknown, format: PcmFormat): asserts payload is Buffer {
  if (!Buffer.isBuffer(payload)) {
    throw new TypeError(`msg.payload must be a Buffer of PCM (got ${payload === null ? 'null' : typeof payload})`);
  }
  const frame = bytesPerFrame(format);
  if (payload.length % frame !== 0) {
    throw new RangeError(
      `msg.payload length ${payload.length} bytes is not a whole number of ${frame}-byte frames (${format.channels} ch ${format.encoding})`,
    );
  }
}

export function sameFormat(a: PcmFormat, b: PcmFormat): boolean {
  return a.sampleRate === b.sampleRate && a.channels === b.channels && a.encoding === b.encoding;
}

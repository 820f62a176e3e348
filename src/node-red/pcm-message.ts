/**
 * The PCM message every node takes (README, "Messages"): msg.payload a Buffer of interleaved
 * PCM, whole frames; its format in msg.audio {sampleRate, channels, encoding}, or in
 * node-red-contrib-sox-utils' fields (format "raw", rate, bits, channels, encoding). One check
 * for eq, soft-clip, wav-sink and audio-out, with one refusal vocabulary that each node's
 * catalog turns into its status (`<node>.status.payload` / `.format` / `.frames`).
 */
import { AudioFormat, bytesPerFrame, formatOfMessage } from '../format';

/** What was wrong with a message: not a Buffer, no valid format, or a partial frame. */
export type PcmRefusal = 'payload' | 'format' | 'frames';

/** The error readPcmMessage throws: a TypeError or RangeError naming the field, with `refusal`. */
export type PcmMessageError = Error & { refusal: PcmRefusal };

/** A message that passed: its payload, its format and its length in frames. */
export interface PcmChunk {
  payload: Buffer;
  format: AudioFormat;
  /** payload.length / bytes per frame. */
  frames: number;
}

function refused(refusal: PcmRefusal, error: Error): PcmMessageError {
  return Object.assign(error, { refusal });
}

/** Is `error` a refusal of readPcmMessage's (as opposed to a failure after it)? */
export function isPcmRefusal(error: unknown): error is PcmMessageError {
  return error instanceof Error && typeof (error as Partial<PcmMessageError>).refusal === 'string';
}

/**
 * Reads `msg` as a PCM message.
 * @throws PcmMessageError: refusal 'payload' (TypeError: msg.payload is not a Buffer),
 *   'format' (TypeError or RangeError: no valid format), 'frames' (RangeError: the payload is
 *   not a whole number of frames of that format).
 */
export function readPcmMessage(msg: Record<string, unknown>): PcmChunk {
  const payload = msg.payload;
  if (!Buffer.isBuffer(payload)) {
    const kind = payload === null ? 'null' : typeof payload;
    throw refused('payload', new TypeError(`msg.payload: expected a Buffer of PCM (as tap-source sends), got ${kind}`));
  }
  let format: AudioFormat;
  try {
    format = formatOfMessage(msg);
  } catch (error) {
    throw refused('format', error as Error);
  }
  const frameBytes = bytesPerFrame(format);
  if (payload.length % frameBytes !== 0) {
    throw refused(
      'frames',
      new RangeError(
        `msg.payload: ${payload.length} bytes is not a whole number of ${frameBytes}-byte frames (${format.channels} ch ${format.encoding})`,
      ),
    );
  }
  return { payload, format, frames: payload.length / frameBytes };
}

/**
 * Checks on the PCM chunks the DSP processes. Formats themselves are read by
 * src/format.ts (formatOfMessage), shared by every node.
 */
import { AudioFormat, bytesPerFrame } from '../format';

/**
 * Throws unless `payload` is a Buffer of whole frames of `format`: TypeError (not a Buffer)
 * or RangeError (a partial frame), naming msg.payload.
 */
export function checkPayload(payload: unknown, format: AudioFormat): asserts payload is Buffer {
  if (!Buffer.isBuffer(payload)) {
    throw new TypeError(`msg.payload: expected a Buffer of PCM (as tap-source sends), got ${payload === null ? 'null' : typeof payload}`);
  }
  const frame = bytesPerFrame(format);
  if (payload.length % frame !== 0) {
    throw new RangeError(
      `msg.payload: ${payload.length} bytes is not a whole number of ${frame}-byte frames (${format.channels} ch ${format.encoding})`,
    );
  }
}

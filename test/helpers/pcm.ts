/** Test signals whose every frame is recognisable: a seam that loses or repeats a frame shows. */
import { AudioFormat, bytesPerFrame } from '../../src/format';

/**
 * `frames` frames of a counter starting at frame `start`: s16le sample = low 15 bits of the
 * frame index (negated on channel 1), f32le = frame index / 2^24 (channel 1: −(index + 1) / 2^24;
 * exact for indices below 2^24).
 */
export function counterPcm(format: AudioFormat, start: number, frames: number): Buffer {
  const out = Buffer.alloc(frames * bytesPerFrame(format));
  let at = 0;
  for (let i = 0; i < frames; i++) {
    const n = start + i;
    for (let c = 0; c < format.channels; c++) {
      if (format.encoding === 's16le') {
        const v = n % 32768;
        at = out.writeInt16LE(c === 1 ? -v : v, at);
      } else {
        const v = (n % (1 << 24)) / (1 << 24);
        // Channel 1 is offset by one step so that it never holds -0 (sox turns it into +0).
        at = out.writeFloatLE(c === 1 ? -v - 1 / (1 << 24) : v, at);
      }
    }
  }
  return out;
}

/** A PCM message as tap-source sends it. */
export function pcmMessage(format: AudioFormat, payload: Buffer, recordingId: string, position: number, extra: Record<string, unknown> = {}) {
  const bits = format.encoding === 's16le' ? 16 : 32;
  const { audio, ...rest } = extra as { audio?: Record<string, unknown> };
  return {
    payload,
    topic: 'test',
    audio: { ...format, bitDepth: bits, recordingId, position, source: 'app', ...(audio ?? {}) },
    format: 'raw',
    rate: format.sampleRate,
    bits,
    channels: format.channels,
    encoding: format.encoding === 's16le' ? 'signed-integer' : 'floating-point',
    ...rest,
  };
}

/** The last message of a recording: an empty payload with audio.final (reason 'stopped'). */
export function finalMessage(format: AudioFormat, recordingId: string, position: number, extra: Record<string, unknown> = {}) {
  return pcmMessage(format, Buffer.alloc(0), recordingId, position, { ...extra, audio: { final: true, reason: 'stopped' } });
}

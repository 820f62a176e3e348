/** src/node-red/pcm-message.ts: the one check of a PCM message that eq, soft-clip, wav-sink and audio-out share. */
import assert from 'assert';
import { isPcmRefusal, readPcmMessage } from '../../src/node-red/pcm-message';

const audio = { sampleRate: 48000, channels: 2, encoding: 's16le' };

function refusal(msg: Record<string, unknown>): { refusal: string; name: string; message: string } {
  try {
    readPcmMessage(msg);
  } catch (error) {
    assert.ok(isPcmRefusal(error), String(error));
    return { refusal: error.refusal, name: error.name, message: error.message };
  }
  throw new Error('readPcmMessage accepted the message');
}

describe('readPcmMessage', function () {
  it('reads msg.audio: payload, format and frames', function () {
    const pcm = readPcmMessage({ payload: Buffer.alloc(40), audio });
    assert.deepStrictEqual(pcm.format, { sampleRate: 48000, channels: 2, encoding: 's16le' });
    assert.strictEqual(pcm.frames, 10);
    assert.strictEqual(pcm.payload.length, 40);
  });

  it("reads node-red-contrib-sox-utils' fields: f32le mono", function () {
    const pcm = readPcmMessage({ payload: Buffer.alloc(12), format: 'raw', rate: 16000, bits: 32, channels: 1, encoding: 'floating-point' });
    assert.deepStrictEqual(pcm.format, { sampleRate: 16000, channels: 1, encoding: 'f32le' });
    assert.strictEqual(pcm.frames, 3);
  });

  it('an empty payload is zero frames (a final message)', function () {
    assert.strictEqual(readPcmMessage({ payload: Buffer.alloc(0), audio: { ...audio, final: true } }).frames, 0);
  });

  it("refuses a payload that is not a Buffer: 'payload', a TypeError naming msg.payload", function () {
    for (const payload of ['abc', null, undefined, 42, [1, 2], new Uint8Array(4)]) {
      const r = refusal({ payload, audio });
      assert.deepStrictEqual([r.refusal, r.name], ['payload', 'TypeError'], String(payload));
      assert.match(r.message, /msg\.payload: expected a Buffer of PCM/);
    }
  });

  it("refuses a missing or bad format: 'format'", function () {
    assert.strictEqual(refusal({ payload: Buffer.alloc(4) }).refusal, 'format');
    assert.strictEqual(refusal({ payload: Buffer.alloc(4), audio: { ...audio, encoding: 'u8' } }).refusal, 'format');
    assert.strictEqual(refusal({ payload: Buffer.alloc(4), audio: { ...audio, channels: 33 } }).refusal, 'format');
    assert.strictEqual(refusal({ payload: Buffer.alloc(4), format: 'raw', rate: 48000, bits: 8, channels: 2, encoding: 'unsigned-integer' }).refusal, 'format');
  });

  it("refuses a partial frame: 'frames', a RangeError that says the frame size", function () {
    const r = refusal({ payload: Buffer.alloc(6), audio });
    assert.deepStrictEqual([r.refusal, r.name], ['frames', 'RangeError']);
    assert.match(r.message, /6 bytes is not a whole number of 4-byte frames/);
  });

  it('checks the payload before the format, and the format before the frames', function () {
    assert.strictEqual(refusal({ payload: 'x' }).refusal, 'payload');
    assert.strictEqual(refusal({ payload: Buffer.alloc(3) }).refusal, 'format');
  });

  it('isPcmRefusal: only errors that carry a refusal', function () {
    assert.strictEqual(isPcmRefusal(new Error('x')), false);
    assert.strictEqual(isPcmRefusal('payload'), false);
  });
});

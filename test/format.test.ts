/** src/format.ts: PCM formats, and the format fields of the messages every node sends and takes. */
import assert from 'assert';
import { bitDepth, bytesPerFrame, formatOfMessage, normalizeFormat, pcmFields, sameFormat, trackPcm } from '../src/format';

describe('format', function () {
  it('bits and bytes: s16le 16 bits, f32le 32; a frame is every channel of one instant', function () {
    assert.strictEqual(bitDepth('s16le'), 16);
    assert.strictEqual(bitDepth('f32le'), 32);
    assert.strictEqual(bytesPerFrame({ sampleRate: 48000, channels: 2, encoding: 's16le' }), 4);
    assert.strictEqual(bytesPerFrame({ sampleRate: 48000, channels: 1, encoding: 'f32le' }), 4);
    assert.strictEqual(bytesPerFrame({ sampleRate: 48000, channels: 2, encoding: 'f32le' }), 8);
  });

  describe('normalizeFormat', function () {
    it('fills unset fields with 48000 Hz, 2 channels, s16le', function () {
      assert.deepStrictEqual(normalizeFormat(undefined), { sampleRate: 48000, channels: 2, encoding: 's16le' });
      assert.deepStrictEqual(normalizeFormat({ channels: 1 }), { sampleRate: 48000, channels: 1, encoding: 's16le' });
    });

    it('takes numbers as numeric strings, as forms give them', function () {
      assert.deepStrictEqual(normalizeFormat({ sampleRate: '44100' as unknown as number, channels: '1' as unknown as 1 }), {
        sampleRate: 44100,
        channels: 1,
        encoding: 's16le',
      });
    });

    it('refuses what is out of range or of the wrong kind, naming the field', function () {
      const bad: Array<[Record<string, unknown>, RegExp]> = [
        [{ sampleRate: 7999 }, /^sampleRate: expected an integer from 8000 to 192000 Hz/],
        [{ sampleRate: 192001 }, /^sampleRate:/],
        [{ sampleRate: 44100.5 }, /^sampleRate:/],
        [{ sampleRate: '0xBB80' }, /^sampleRate:/],
        [{ sampleRate: [48000] }, /^sampleRate:/],
        [{ sampleRate: true }, /^sampleRate:/],
        [{ channels: 3 }, /^channels: expected 1 or 2/],
        [{ channels: 0 }, /^channels:/],
        [{ encoding: 'u8' }, /^encoding: expected "s16le" or "f32le"/],
        [{ encoding: 'S16LE' }, /^encoding:/],
      ];
      for (const [format, message] of bad) {
        assert.throws(() => normalizeFormat(format as never), (e: Error) => e instanceof TypeError && message.test(e.message), JSON.stringify(format));
      }
    });
  });

  it('a message may carry up to 32 channels (a multitrack recording: tracks × channels), a capture asks for 1 or 2', function () {
    const audio = { sampleRate: 48000, channels: 6, encoding: 's16le' };
    assert.deepStrictEqual(formatOfMessage({ audio }), audio);
    assert.throws(() => formatOfMessage({ audio: { ...audio, channels: 33 } }), /^TypeError: channels: expected 1 to 32, got 33/);
    assert.throws(() => formatOfMessage({ audio: { ...audio, channels: 2.5 } }), /^TypeError: channels: expected 1 to 32/);
    assert.throws(() => normalizeFormat({ channels: 6 }), /^TypeError: channels: expected 1 or 2, got 6/);
    const tracks = [{ index: 0, name: 'zoom', firstChannel: 0, channels: 2 }];
    assert.deepStrictEqual(pcmFields({ sampleRate: 48000, channels: 2, encoding: 's16le' }, 'r', 0, 'zoom', tracks).audio.tracks, tracks);
  });

  it("trackPcm: one track's channels out of a multitrack frame, every frame", function () {
    // Three frames of three tracks (mono, stereo, mono): s16le samples numbered frame*10 + channel.
    const format = { sampleRate: 48000, channels: 4, encoding: 's16le' as const };
    const pcm = Buffer.alloc(3 * 4 * 2);
    for (let f = 0; f < 3; f++) for (let c = 0; c < 4; c++) pcm.writeInt16LE(f * 10 + c, (f * 4 + c) * 2);
    const samples = (b: Buffer) => Array.from({ length: b.length / 2 }, (_, i) => b.readInt16LE(i * 2));
    assert.deepStrictEqual(samples(trackPcm(pcm, format, { firstChannel: 1, channels: 2 })), [1, 2, 11, 12, 21, 22]);
    assert.deepStrictEqual(samples(trackPcm(pcm, format, { firstChannel: 3, channels: 1 })), [3, 13, 23]);
    const f32 = Buffer.alloc(2 * 2 * 4);
    [0.5, -0.25, 0.125, -1].forEach((v, i) => f32.writeFloatLE(v, i * 4));
    const right = trackPcm(f32, { sampleRate: 48000, channels: 2, encoding: 'f32le' }, { firstChannel: 1, channels: 1 });
    assert.deepStrictEqual([right.readFloatLE(0), right.readFloatLE(4)], [-0.25, -1]);
  });

  it('sameFormat: rate, channels and encoding all equal', function () {
    const a = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const;
    assert.ok(sameFormat(a, { ...a }));
    assert.ok(!sameFormat(a, { ...a, sampleRate: 44100 }));
    assert.ok(!sameFormat(a, { ...a, channels: 1 }));
    assert.ok(!sameFormat(a, { ...a, encoding: 'f32le' }));
  });

  it("pcmFields: msg.audio and node-red-contrib-sox-utils' fields of one format", function () {
    const f32 = pcmFields({ sampleRate: 16000, channels: 1, encoding: 'f32le' }, 'rec1', 320, 'vlc');
    assert.deepStrictEqual(f32, {
      audio: { sampleRate: 16000, channels: 1, encoding: 'f32le', bitDepth: 32, recordingId: 'rec1', position: 320, source: 'vlc' },
      format: 'raw',
      rate: 16000,
      bits: 32,
      channels: 1,
      encoding: 'floating-point',
    });
    const s16 = pcmFields({ sampleRate: 48000, channels: 2, encoding: 's16le' }, 'rec2', 0);
    assert.strictEqual(s16.encoding, 'signed-integer');
    assert.strictEqual(s16.bits, 16);
    assert.ok(!('source' in s16.audio));
  });

  describe('formatOfMessage', function () {
    it('reads back what pcmFields wrote, from msg.audio or from the sox-utils fields alone', function () {
      for (const format of [
        { sampleRate: 48000, channels: 2, encoding: 's16le' },
        { sampleRate: 22050, channels: 1, encoding: 'f32le' },
      ] as const) {
        const fields = pcmFields(format, 'r', 0);
        assert.deepStrictEqual(formatOfMessage({ ...fields }), format);
        const { audio: _audio, ...sox } = fields;
        assert.deepStrictEqual(formatOfMessage({ ...sox }), format);
      }
    });

    it('refuses a message with no format, or a sox format it cannot carry', function () {
      assert.throws(() => formatOfMessage({ payload: Buffer.alloc(4) }), /msg\.audio: missing/);
      assert.throws(() => formatOfMessage({ format: 'raw', rate: 48000, bits: 24, channels: 2, encoding: 'signed-integer' }), /only signed-integer 16-bit and floating-point 32-bit/);
      assert.throws(() => formatOfMessage({ audio: { sampleRate: 48000, channels: 2, encoding: 'mp3' } }), /encoding:/);
    });
  });
});

/** src/wav/header.ts: byte-exact headers (Microsoft RIFF/WAVEFORMATEX, EBU Tech 3306 RF64). */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { AudioFormat } from '../../src/format';
import { needsRf64, wavHeader, wavLayout } from '../../src/wav/header';
import { FileNamer } from '../../src/wav/names';
import { WavWriter } from '../../src/wav/writer';
import { counterPcm } from '../helpers/pcm';
import { ffprobe, parseWavHeader, readWav, soxInfo, soxRaw } from '../helpers/wav';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const junk = Buffer.concat([ascii('JUNK'), u32(28), Buffer.alloc(28)]);

describe('wav header', function () {
  it('PCM s16le mono: RIFF, JUNK 28, fmt 16, data — byte-exact', function () {
    const layout = wavLayout({ sampleRate: 48000, channels: 1, encoding: 's16le' });
    const expected = Buffer.concat([
      ascii('RIFF'), u32(80 - 8 + 2000), ascii('WAVE'),
      junk,
      ascii('fmt '), u32(16), u16(1), u16(1), u32(48000), u32(96000), u16(2), u16(16),
      ascii('data'), u32(2000),
    ]);
    assert.strictEqual(layout.headerBytes, 80);
    assert.deepStrictEqual(wavHeader(layout, 2000), expected);
  });

  it('IEEE float f32le stereo: fmt 18 with cbSize 0, fact with the frame count — byte-exact', function () {
    const layout = wavLayout({ sampleRate: 44100, channels: 2, encoding: 'f32le' });
    const frames = 1000;
    const expected = Buffer.concat([
      ascii('RIFF'), u32(94 - 8 + frames * 8), ascii('WAVE'),
      junk,
      ascii('fmt '), u32(18), u16(3), u16(2), u32(44100), u32(44100 * 8), u16(8), u16(32), u16(0),
      ascii('fact'), u32(4), u32(frames),
      ascii('data'), u32(frames * 8),
    ]);
    assert.strictEqual(layout.headerBytes, 94);
    assert.deepStrictEqual(wavHeader(layout, frames * 8), expected);
  });

  it('more than two channels (a multitrack recording): WAVE_FORMAT_EXTENSIBLE, fmt 40, mask 0, the PCM or float sub-format GUID — byte-exact', function () {
    const guidTail = Buffer.from([0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
    const pcm = wavLayout({ sampleRate: 48000, channels: 6, encoding: 's16le' });
    assert.strictEqual(pcm.headerBytes, 104);
    assert.deepStrictEqual(
      wavHeader(pcm, 1200),
      Buffer.concat([
        ascii('RIFF'), u32(104 - 8 + 1200), ascii('WAVE'),
        junk,
        ascii('fmt '), u32(40), u16(0xfffe), u16(6), u32(48000), u32(48000 * 12), u16(12), u16(16),
        u16(22), u16(16), u32(0), u32(1), guidTail,
        ascii('data'), u32(1200),
      ]),
    );
    const float = wavLayout({ sampleRate: 48000, channels: 4, encoding: 'f32le' });
    assert.strictEqual(float.headerBytes, 116);
    assert.deepStrictEqual(
      wavHeader(float, 160),
      Buffer.concat([
        ascii('RIFF'), u32(116 - 8 + 160), ascii('WAVE'),
        junk,
        ascii('fmt '), u32(40), u16(0xfffe), u16(4), u32(48000), u32(48000 * 16), u16(16), u16(32),
        u16(22), u16(32), u32(0), u32(3), guidTail,
        ascii('fact'), u32(4), u32(10),
        ascii('data'), u32(160),
      ]),
    );
  });

  it('turns RF64 (ds64 where JUNK was, sizes 0xFFFFFFFF) one frame past what RIFF can say', function () {
    for (const encoding of ['s16le', 'f32le'] as const) {
      const layout = wavLayout({ sampleRate: 48000, channels: 2, encoding });
      const last = layout.riffMaxDataBytes;
      // The largest RIFF: its RIFF size is at most 0xFFFFFFFF.
      assert.ok(!needsRf64(layout, last));
      assert.ok(layout.headerBytes - 8 + last <= 0xffffffff);
      assert.ok(layout.headerBytes - 8 + last + layout.frameBytes > 0xffffffff);
      const riff = wavHeader(layout, last);
      assert.strictEqual(riff.toString('latin1', 0, 4), 'RIFF');
      assert.strictEqual(riff.readUInt32LE(4), layout.headerBytes - 8 + last);

      const bytes = last + layout.frameBytes;
      const h = wavHeader(layout, bytes);
      assert.strictEqual(h.length, layout.headerBytes, 'same length: rewritten in place');
      const ds64 = Buffer.concat([ascii('ds64'), u32(28), u64(layout.headerBytes - 8 + bytes), u64(bytes), u64(bytes / layout.frameBytes), u32(0)]);
      assert.deepStrictEqual(h.subarray(0, 12), Buffer.concat([ascii('RF64'), u32(0xffffffff), ascii('WAVE')]));
      assert.deepStrictEqual(h.subarray(12, 48), ds64);
      assert.deepStrictEqual(h.subarray(48, layout.dataSizeOffset - 4), riff.subarray(48, layout.dataSizeOffset - 4).fill(0xff, layout.factOffset ? layout.factOffset - 48 : 0, layout.factOffset ? layout.factOffset - 44 : 0), 'fmt unchanged; fact frames = 0xFFFFFFFF');
      assert.strictEqual(h.toString('latin1', layout.dataSizeOffset - 4, layout.dataSizeOffset), 'data');
      assert.strictEqual(h.readUInt32LE(layout.dataSizeOffset), 0xffffffff);
      const parsed = parseWavHeader(h);
      assert.strictEqual(parsed.dataSize, bytes);
    }
  });

  it('refuses sizes that are not whole frames', function () {
    const layout = wavLayout({ sampleRate: 48000, channels: 2, encoding: 's16le' });
    assert.throws(() => wavHeader(layout, 6), /whole 4-byte frames/);
    assert.throws(() => wavHeader(layout, -4), RangeError);
    assert.throws(() => wavHeader(layout, 1.5), RangeError);
  });

  describe('read back by ffprobe and sox', function () {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-header-'))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: Array<[AudioFormat, string, string]> = [
      [{ sampleRate: 48000, channels: 1, encoding: 's16le' }, 'pcm_s16le', '16-bit Signed Integer PCM'],
      [{ sampleRate: 44100, channels: 2, encoding: 's16le' }, 'pcm_s16le', '16-bit Signed Integer PCM'],
      [{ sampleRate: 16000, channels: 1, encoding: 'f32le' }, 'pcm_f32le', '32-bit Floating Point PCM'],
      [{ sampleRate: 48000, channels: 2, encoding: 'f32le' }, 'pcm_f32le', '32-bit Floating Point PCM'],
      // Multitrack: three stereo tracks, two mono ones.
      [{ sampleRate: 48000, channels: 6, encoding: 's16le' }, 'pcm_s16le', '16-bit Signed Integer PCM'],
      [{ sampleRate: 48000, channels: 2 * 2, encoding: 'f32le' }, 'pcm_f32le', '32-bit Floating Point PCM'],
      [{ sampleRate: 16000, channels: 3, encoding: 's16le' }, 'pcm_s16le', '16-bit Signed Integer PCM'],
    ];
    for (const [format, codec, soxEncoding] of cases) {
      it(`${format.encoding} ${format.channels} ch ${format.sampleRate} Hz: format, frames and samples exact`, async function () {
        const frames = Math.round(format.sampleRate * 1.25) + 7;
        const pcm = counterPcm(format, 0, frames);
        const namer = new FileNamer(dir, path.join(dir, `${format.encoding}-${format.channels}-${format.sampleRate}.wav`));
        const writer = new WavWriter({ format, createPart: (n) => namer.create(n) });
        for (let at = 0; at < pcm.length; at += 4000 * (format.encoding === 's16le' ? 2 : 4) * format.channels) {
          writer.write(pcm.subarray(at, Math.min(pcm.length, at + 4000 * (format.encoding === 's16le' ? 2 : 4) * format.channels)));
        }
        const result = await writer.close();
        namer.releaseAll();
        assert.strictEqual(result.error, undefined);
        assert.strictEqual(result.frames, frames);
        const file = result.parts[0].path;

        const probe = ffprobe(file);
        assert.deepStrictEqual(probe, { codec, sampleRate: format.sampleRate, channels: format.channels, frames });
        const sox = soxInfo(file);
        assert.deepStrictEqual(sox, { sampleRate: format.sampleRate, channels: format.channels, frames, encoding: soxEncoding });
        assert.ok(soxRaw(file).equals(pcm), 'sox decodes the samples written');

        const wav = await readWav(file);
        assert.ok(wav.data.equals(pcm));
        assert.strictEqual(fs.statSync(file).size, wav.dataOffset + pcm.length);
        assert.deepStrictEqual(wav.chunks.map((c) => c.id), format.encoding === 'f32le' ? ['JUNK', 'fmt ', 'fact', 'data'] : ['JUNK', 'fmt ', 'data']);
        if (format.encoding === 'f32le') {
          assert.strictEqual(wav.factFrames, frames);
          assert.strictEqual(wav.format.cbSize, format.channels > 2 ? 22 : 0);
        }
        assert.strictEqual(wav.format.audioFormat, format.channels > 2 ? 0xfffe : format.encoding === 'f32le' ? 3 : 1);
      });
    }
  });
});

/**
 * wav-sink past 4 GiB: one recording of a little more data than RIFF can say, written through
 * the node at disk speed (zeros in 8 MiB chunks, then one second of a counter), must end as
 * one RF64 file (EBU Tech 3306) that ffprobe and sox read with the right length, its last
 * second intact. Needs about 4.1 GiB free in the temporary directory; the file is deleted after.
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { AudioFormat } from '../../src/format';
import { counterPcm, finalMessage, pcmMessage } from '../helpers/pcm';
import { helper, sinkFlow, until, watch, wavSink } from '../helpers/sink';
import { assertReadersSeeFrames, dataOnDisk } from '../helpers/wav';

const S16: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' };
const FRAME = 4;
const GIB = 1024 * 1024 * 1024;
/** Data bytes of the recording: 4 GiB + 64 MiB of zeros, then one second of the counter. */
const ZERO_BYTES = 4 * GIB + 64 * 1024 * 1024;
const CHUNK_BYTES = 8 * 1024 * 1024;
const TAIL_FRAMES = 48000;

describe('wav-sink past 4 GiB (slow: writes 4.1 GiB)', function () {
  this.timeout(15 * 60 * 1000);
  let dir: string;

  beforeEach(function (done) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-rf64-'));
    helper.startServer(done);
  });

  afterEach(async function () {
    await helper.unload().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => helper.stopServer(resolve));
  });

  it('a recording of 4.06 GiB: one RF64 file, ffprobe and sox read its length, the last second intact', async function () {
    const { bavail, bsize } = fs.statfsSync(dir);
    const free = bavail * bsize;
    assert.ok(free > ZERO_BYTES + GIB, `${dir}: ${(free / GIB).toFixed(1)} GiB free, this test needs 5.1 GiB (set TMPDIR to a larger disk)`);

    await helper.load(wavSink, sinkFlow({ directory: dir, filename: 'long.wav' }));
    const w = watch();
    const sink = helper.getNode('sink');
    const file = path.join(dir, 'long.wav');
    const zeros = Buffer.alloc(CHUNK_BYTES); // one Buffer for every chunk: its content never changes
    let sent = 0;
    let dataOffset = 0;
    // Each chunk once the one before is being written: the write queue never overflows, so
    // nothing is dropped; the pace is the disk's.
    while (sent < ZERO_BYTES) {
      const n = Math.min(CHUNK_BYTES, ZERO_BYTES - sent);
      sink.receive(pcmMessage(S16, zeros.subarray(0, n), 'long', sent / FRAME));
      sent += n;
      await until(() => w.errors.length > 0 || (fs.existsSync(file) && fs.statSync(file).size >= dataOffset + sent - n + 1) || undefined, `${sent} bytes under way`, 60000);
      assert.deepStrictEqual(w.errors, []);
      dataOffset ||= dataOnDisk(file).header.dataOffset;
    }
    const tail = counterPcm(S16, 0, TAIL_FRAMES);
    sink.receive(pcmMessage(S16, tail, 'long', sent / FRAME));
    sent += tail.length;
    sink.receive(finalMessage(S16, 'long', sent / FRAME));
    const msg = await w.nthClosed(1, 120000);

    const frames = sent / FRAME;
    assert.deepStrictEqual(w.errors, []);
    assert.deepStrictEqual(w.warnings, []);
    assert.strictEqual(msg.payload.path, file);
    assert.strictEqual(msg.payload.frames, frames);
    assert.strictEqual(msg.payload.bytes, sent);
    assert.strictEqual(msg.payload.droppedFrames, 0);
    assert.strictEqual(msg.payload.gapFrames, 0);
    assert.strictEqual(msg.payload.seconds, frames / 48000);

    const { header, onDisk } = dataOnDisk(file);
    assert.strictEqual(header.id, 'RF64');
    assert.deepStrictEqual(header.chunks.slice(0, 1).map((c) => c.id), ['ds64'], 'ds64 first, where JUNK was');
    assert.strictEqual(onDisk, sent);
    assert.deepStrictEqual(header.ds64, { riffSize: fs.statSync(file).size - 8, dataSize: sent, sampleCount: frames });
    assert.strictEqual(header.dataSize, sent);

    assert.deepStrictEqual([header.format.sampleRate, header.format.channels, header.format.bitDepth], [48000, 2, 16]);
    assertReadersSeeFrames(file, frames);
    // sox seeks to the last second (past 4 GiB) and decodes it: the counter, frame for frame.
    const last = execFileSync('sox', [file, '-t', 'raw', '-', 'trim', `${frames - TAIL_FRAMES}s`], { maxBuffer: 16 * 1024 * 1024 });
    assert.ok(last.equals(tail), `sox decoded ${last.length} bytes of the last second, not the counter`);
  });
});

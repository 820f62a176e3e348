/** src/wav/writer.ts: rotation seams, the bounded queue, header rewrites, failures. */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { AudioFormat } from '../../src/format';
import { FileNamer } from '../../src/wav/names';
import { WavWriter, WavWriterOptions } from '../../src/wav/writer';
import { counterPcm } from '../helpers/pcm';
import { dataOnDisk, ffprobe, readWav, readWavHeader } from '../helpers/wav';

const S16: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' };

/**
 * Holds every fs.write (data and header writes of src/wav/file.ts) until released: a disk that
 * stalls. Returns the release function; `restore` puts fs.write back.
 */
function stallWrites(): { release: () => void; restore: () => void } {
  const real = fs.write;
  let held: Array<() => void> | undefined = [];
  (fs as unknown as { write: unknown }).write = (...args: unknown[]) => {
    const go = () => (real as unknown as (...a: unknown[]) => void).apply(fs, args);
    if (held) held.push(go);
    else go();
  };
  const release = () => {
    const waiting = held ?? [];
    held = undefined;
    waiting.forEach((go) => go());
  };
  return {
    release,
    restore: () => {
      (fs as unknown as { write: unknown }).write = real;
      release();
    },
  };
}

/** Counts the writes (fs.write and fs.writev calls) from now until `restore`. */
function countWrites(): { readonly count: number; restore: () => void } {
  const realWrite = fs.write;
  const realWritev = fs.writev;
  let count = 0;
  const counted = (real: unknown) => (...args: unknown[]) => {
    count++;
    return (real as (...a: unknown[]) => void)(...args);
  };
  (fs as unknown as { write: unknown }).write = counted(realWrite);
  (fs as unknown as { writev: unknown }).writev = counted(realWritev);
  return {
    get count() {
      return count;
    },
    restore: () => {
      (fs as unknown as { write: unknown }).write = realWrite;
      (fs as unknown as { writev: unknown }).writev = realWritev;
    },
  };
}

async function waitUntil(test: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('wav writer', function () {
  this.timeout(20000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-writer-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function writer(name: string, options: Partial<WavWriterOptions> = {}, format: AudioFormat = S16) {
    const namer = new FileNamer(dir, path.join(dir, name));
    const w = new WavWriter({ format, createPart: (n) => namer.create(n), ...options });
    return { w, namer };
  }

  /** Feeds `pcm` in chunks of `chunkFrames`. */
  function feed(w: WavWriter, pcm: Buffer, chunkFrames: number, format: AudioFormat = S16) {
    const step = chunkFrames * (format.encoding === 's16le' ? 2 : 4) * format.channels;
    for (let at = 0; at < pcm.length; at += step) w.write(pcm.subarray(at, at + step));
  }

  it('rotation by frames: chunks split at the exact frame, parts concatenate to the input', async function () {
    const pcm = counterPcm(S16, 0, 3500);
    const closed: string[] = [];
    const { w, namer } = writer('seam-{part}.wav', { partFrames: 1000, onPartClosed: (p) => closed.push(p.path) });
    feed(w, pcm, 333);
    const result = await w.close();
    namer.releaseAll();
    assert.strictEqual(result.error, undefined);
    assert.deepStrictEqual(result.parts.map((p) => path.basename(p.path)), ['seam-1.wav', 'seam-2.wav', 'seam-3.wav', 'seam-4.wav']);
    assert.deepStrictEqual(result.parts.map((p) => p.frames), [1000, 1000, 1000, 500]);
    assert.deepStrictEqual(closed, result.parts.map((p) => p.path), 'each part reported when closed');
    const datas = await Promise.all(result.parts.map((p) => readWav(p.path)));
    assert.ok(Buffer.concat(datas.map((d) => d.data)).equals(pcm), 'no frame lost or repeated at a seam');
    for (const p of result.parts) assert.strictEqual(ffprobe(p.path).frames, p.frames);
  });

  it('rotation by size: each part file at most the limit (header included), filled to the last whole frame', async function () {
    const limit = 10000;
    const perPart = Math.floor((limit - 80) / 4); // 2480 frames of s16 stereo after the 80-byte header
    const pcm = counterPcm(S16, 0, perPart * 2 + 17);
    const { w, namer } = writer('size-{part}.wav', { partFileBytes: limit });
    feed(w, pcm, 1000);
    const result = await w.close();
    namer.releaseAll();
    assert.deepStrictEqual(result.parts.map((p) => p.frames), [perPart, perPart, 17]);
    assert.deepStrictEqual(result.parts.map((p) => fs.statSync(p.path).size), [80 + perPart * 4, 80 + perPart * 4, 80 + 17 * 4]);
    assert.ok(result.parts.every((p) => fs.statSync(p.path).size <= limit));
    const datas = await Promise.all(result.parts.map((p) => readWav(p.path)));
    assert.ok(Buffer.concat(datas.map((d) => d.data)).equals(pcm));
  });

  it('a recording that ends exactly at a part limit leaves no empty part', async function () {
    const { w, namer } = writer('exact-{part}.wav', { partFrames: 1000 });
    feed(w, counterPcm(S16, 0, 2000), 500);
    const result = await w.close();
    namer.releaseAll();
    assert.deepStrictEqual(result.parts.map((p) => p.frames), [1000, 1000]);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['exact-1.wav', 'exact-2.wav']);
  });

  it('a stalled disk: the queue stays within its bound, chunks that do not fit are dropped and written as silence', async function () {
    const chunkFrames = 480;
    const chunkBytes = chunkFrames * 4;
    const stall = stallWrites();
    try {
      const { w, namer } = writer('stall.wav', { queueBytes: 10 * chunkBytes });
      const chunks = Array.from({ length: 100 }, (_, i) => counterPcm(S16, i * chunkFrames, chunkFrames));
      const outcomes: string[] = [];
      let most = 0;
      for (const chunk of chunks) {
        outcomes.push(w.write(chunk));
        most = Math.max(most, w.queuedBytesNow);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(most <= 10 * chunkBytes, `queue held ${most} bytes, bound ${10 * chunkBytes}`);
      // The first chunk went to the (stalled) file, ten wait in the queue, the rest are dropped.
      assert.strictEqual(outcomes.filter((o) => o === 'queued').length, 11);
      assert.strictEqual(w.droppedFrames, 89 * chunkFrames);
      stall.release();
      await w.drained();
      // Writes resume: later chunks land right after the silence.
      const more = Array.from({ length: 5 }, (_, i) => counterPcm(S16, (100 + i) * chunkFrames, chunkFrames));
      more.forEach((c) => assert.strictEqual(w.write(c), 'queued'));
      const result = await w.close();
      namer.releaseAll();
      assert.strictEqual(result.frames, 105 * chunkFrames, 'the timeline is kept');
      assert.strictEqual(result.droppedFrames, 89 * chunkFrames);
      const wav = await readWav(result.parts[0].path);
      const expected = Buffer.concat([...chunks.slice(0, 11), Buffer.alloc(89 * chunkBytes), ...more]);
      assert.ok(wav.data.equals(expected), 'kept chunks in place, silence for the dropped ones');
    } finally {
      stall.restore();
    }
  });

  it('the default queue: 16 MiB, or 5 s of audio where that is more (a flow processing a file flat out rides out a slow write)', async function () {
    // 48 kHz stereo 16-bit: 5 s is 0.94 MiB, under 10 ms of wall time at 500x real time.
    const chunkFrames = 480;
    const chunkBytes = chunkFrames * 4;
    const fit = Math.floor((16 * 2 ** 20) / chunkBytes);
    const stall = stallWrites();
    const { w, namer } = writer('default-queue.wav');
    try {
      assert.strictEqual(w.queueLimit, 16 * 2 ** 20);
      const chunks = Array.from({ length: 1 + fit + 5 }, (_, i) => counterPcm(S16, i * chunkFrames, chunkFrames));
      const outcomes = chunks.map((chunk) => w.write(chunk));
      // The first chunk went to the (stalled) file, 16 MiB of chunks wait, the last five are dropped.
      assert.strictEqual(outcomes.filter((o) => o === 'queued').length, 1 + fit);
      assert.deepStrictEqual(outcomes.slice(-5), ['dropped', 'dropped', 'dropped', 'dropped', 'dropped']);
      assert.ok(w.queuedBytesNow <= 16 * 2 ** 20);
      stall.release();
      const result = await w.close();
      assert.strictEqual(result.frames, chunks.length * chunkFrames);
      assert.strictEqual(result.droppedFrames, 5 * chunkFrames);
      const wav = await readWav(result.parts[0].path);
      assert.ok(wav.data.subarray(0, (1 + fit) * chunkBytes).equals(Buffer.concat(chunks.slice(0, 1 + fit))), 'every queued chunk in place');
    } finally {
      stall.restore();
      namer.releaseAll();
    }
    // 32 channels of 32-bit float (a multitrack recording): 5 s is 29.3 MiB, the larger.
    const wide: AudioFormat = { sampleRate: 48000, channels: 32, encoding: 'f32le' };
    const { w: wideWriter, namer: wideNamer } = writer('wide.wav', {}, wide);
    assert.strictEqual(wideWriter.queueLimit, 5 * 48000 * 32 * 4);
    await wideWriter.close();
    wideNamer.releaseAll();
  });

  it('keeps up with a source faster than real time: what queued during a write goes in the next one, nothing dropped', async function () {
    // 60 s of audio in 10 ms chunks, 16 chunks per event-loop turn at 1000× real time (a flow
    // processing a file flat out): one write per chunk would fall 15 chunks behind every turn
    // and overflow a 30 s queue within 200 turns. 30 s, not the default 5 s: at 1000× the
    // default holds 5 ms of wall time, which one slow write on a busy machine outlasts even
    // when every queued chunk goes in the next write (the bench's flow path says so too).
    const { w, namer } = writer('fast.wav', { queueBytes: 30 * 48000 * 4 });
    const pcm = counterPcm(S16, 0, 60 * 48000);
    const step = 480 * 4;
    const writes = countWrites();
    try {
      // The file is made at the first chunk's pace (a few file-system round trips), then the flood.
      w.write(pcm.subarray(0, step));
      await w.drained();
      for (let at = step, n = 1; at < pcm.length; at += step, n++) {
        assert.strictEqual(w.write(pcm.subarray(at, at + step)), 'queued', `chunk ${n}`);
        if (n % 16 === 15) {
          const until = process.hrtime.bigint() + 160000n; // the flow's work for 160 ms of audio
          while (process.hrtime.bigint() < until);
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      const result = await w.close();
      assert.strictEqual(result.droppedFrames, 0);
      assert.ok((await readWav(path.join(dir, 'fast.wav'))).data.equals(pcm), 'every frame, in order');
      assert.ok(writes.count < 6000 / 4, `${writes.count} writes for 6000 chunks`);
    } finally {
      writes.restore();
      namer.releaseAll();
    }
  });

  it('writes a long gap of silence in a few writes, and a gap is zeros on disk', async function () {
    const { w, namer } = writer('gap.wav');
    const writes = countWrites();
    try {
      const before = counterPcm(S16, 0, 480);
      w.write(before);
      w.writeSilence(600 * 48000); // 10 minutes: 110 MB of zeros
      w.write(before);
      const result = await w.close();
      assert.strictEqual(result.frames, 600 * 48000 + 960);
      assert.ok(writes.count <= 20, `${writes.count} writes for 10 minutes of silence (and two chunks, headers)`);
      const fd = fs.openSync(path.join(dir, 'gap.wav'), 'r');
      const probe = Buffer.alloc(4);
      fs.readSync(fd, probe, 0, 4, 44 + 480 * 4 + 300 * 48000 * 4); // the middle of the gap
      fs.closeSync(fd);
      assert.deepStrictEqual([...probe], [0, 0, 0, 0]);
    } finally {
      writes.restore();
      namer.releaseAll();
    }
  });

  it('rewrites the header while writing (at most half a second behind) and once idle', async function () {
    const { w, namer } = writer('live.wav');
    const second = 48000;
    feed(w, counterPcm(S16, 0, 3 * second), 960);
    await w.drained();
    const file = path.join(dir, 'live.wav');
    const { header, onDisk } = dataOnDisk(file);
    const stated = header.dataSize;
    assert.strictEqual(onDisk, 3 * second * 4);
    assert.ok(onDisk - stated < 0.5 * second * 4 + 960 * 4, `header ${stated} bytes behind ${onDisk}`);
    assert.ok(stated >= 2.5 * second * 4 - 960 * 4, `header rewritten while writing: ${stated}`);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.strictEqual(readWavHeader(file).dataSize, onDisk, 'idle: the header catches up within a second');
    await w.close();
    namer.releaseAll();
  });

  it('a failure to create the file: reported once, later writes ignored, close resolves at once', async function () {
    const errors: Error[] = [];
    const w = new WavWriter({
      format: S16,
      createPart: () => Promise.reject(Object.assign(new Error('creating /x/y.wav failed: permission denied (EACCES)'), { code: 'EACCES' })),
      onError: (e) => errors.push(e),
    });
    assert.strictEqual(w.write(counterPcm(S16, 0, 480)), 'queued');
    await w.drained();
    assert.strictEqual(w.write(counterPcm(S16, 480, 480)), 'ignored');
    const started = Date.now();
    const result = await w.close();
    assert.ok(Date.now() - started < 100);
    assert.strictEqual(errors.length, 1);
    assert.match(String(result.error), /EACCES/);
    assert.deepStrictEqual(result.parts, []);
  });

  it('close never hangs: a write stuck in the kernel is given up on after the close timeout', async function () {
    const stall = stallWrites();
    const errors: Error[] = [];
    try {
      const { w, namer } = writer('stuck.wav', { closeTimeoutMs: 100, onError: (e) => errors.push(e) });
      w.write(counterPcm(S16, 0, 4800));
      w.write(counterPcm(S16, 4800, 4800));
      const started = Date.now();
      const result = await w.close();
      const took = Date.now() - started;
      assert.ok(took < 3000, `close took ${took} ms`);
      assert.match(String(result.error), /did not complete within/);
      assert.strictEqual(errors.length, 1);
      assert.strictEqual(result.droppedFrames, 4800, 'the queued chunk was abandoned');
      stall.release();
      await w.drained();
      namer.releaseAll();
      // The stuck writes came back: the file is finalized with what it holds (the first chunk).
      const file = path.join(dir, 'stuck.wav');
      await waitUntil(() => readWavHeader(file).dataSize === 4800 * 4);
      assert.strictEqual(fs.statSync(file).size, 80 + 4800 * 4);
    } finally {
      stall.restore();
    }
  });

  it('refuses part limits with no room for a frame, and chunks of partial frames', function () {
    assert.throws(() => new WavWriter({ format: S16, createPart: () => Promise.reject(new Error('unused')), partFileBytes: 82 }), /no room for a frame/);
    const w = new WavWriter({ format: S16, createPart: () => Promise.reject(new Error('unused')) });
    assert.throws(() => w.write(Buffer.alloc(6)), /not a whole number of 4-byte frames/);
  });
});

/**
 * audio-out's engine against a real PulseAudio server: what reaches the sink (read back
 * through its monitor) equals what was written, apart from latency.
 */
import assert from 'assert';
import { AudioChunk, Capture, CaptureEnd, Playback } from '../src/engine';
import { addNullSink, PulseServer, startPulse, waitFor } from './helpers/pulse';

/** Deterministic noise, s16le stereo (xorshift32), so every frame is recognisable. */
function noise(frames: number, seed = 12345): Buffer {
  const buffer = Buffer.alloc(frames * 4);
  let x = seed >>> 0;
  for (let i = 0; i < frames * 2; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buffer.writeInt16LE(((x & 0xffff) - 32768) >> 2, i * 2); // about −12 dBFS peak
  }
  return buffer;
}

/** Writes `pcm` to `playback` at the real-time rate, 10 ms at a time, from a timer. */
function playRealTime(playback: Playback, pcm: Buffer): Promise<void> {
  const frameBytes = 4;
  const total = pcm.length / frameBytes;
  const start = Date.now();
  let written = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * 48000) + 480);
      if (due > written) {
        playback.write(pcm.subarray(written * frameBytes, due * frameBytes));
        written = due;
      }
      if (written >= total) {
        clearInterval(timer);
        playback.drain();
        resolve();
      }
    }, 10);
  });
}

describe('audio-out playback on PulseAudio', function () {
  this.timeout(30000);
  let pulse: PulseServer;
  let removeSpeaker: () => void;

  before(async function () {
    pulse = await startPulse();
    removeSpeaker = addNullSink('speaker');
  });

  after(async function () {
    removeSpeaker?.();
    await pulse?.stop();
  });

  it('plays exactly what was written, with no underruns at steady state', async function () {
    const sent = noise(48000 * 2);
    const capture = new Capture({ target: { kind: 'system' }, device: 'speaker' });
    const chunks: Buffer[] = [];
    capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk.data));
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();

    const playback = new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, device: 'speaker' }); // the default 100 ms buffer
    await playback.start();
    // A fresh null sink first renders one block at its default latency (2 s) before it
    // follows the stream's low latency: wait until it pulls, with a little silence.
    playback.write(Buffer.alloc(4800 * 4));
    playback.drain();
    await waitFor(() => playback.stats().playedFrames >= 4800, 5000, 'the sink to pull');
    const before = playback.stats();
    await playRealTime(playback, sent);
    await waitFor(() => playback.stats().bufferedFrames === 0, 3000, 'the buffer to play out');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stats = playback.stats();
    playback.stop();
    capture.stop();
    const captureEnd = await ended;

    assert.strictEqual(stats.underruns - before.underruns, 0, 'no underruns');
    assert.strictEqual(stats.overrunFrames, 0, 'no overruns');
    assert.strictEqual(stats.playedFrames - before.playedFrames, sent.length / 4);

    // Find the written noise in the capture (latency), then compare sample by sample.
    const got = Buffer.concat(chunks);
    const key = sent.subarray(0, 32);
    const at = got.indexOf(key);
    assert.ok(at >= 0 && at % 4 === 0, 'the written audio is in the capture');
    const overlap = Math.min(sent.length, got.length - at);
    assert.ok(overlap === sent.length, `all ${sent.length / 4} frames arrived (got ${overlap / 4})`);
    const differs = got.subarray(at, at + overlap).findIndex((byte, i) => byte !== sent[i]);
    assert.strictEqual(differs, -1, `bit-exact (first difference at frame ${Math.floor(differs / 4)}; capture dropped ${captureEnd.droppedChunks} chunks)`);
    // Silence before it: nothing but the written audio reached the speaker.
    assert.ok(got.subarray(0, at).every((byte) => byte === 0));
  });

  it('counts an underrun when the writer falls behind, and an overrun when it runs ahead', async function () {
    const playback = new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, device: 'speaker', bufferMs: 20, capacityMs: 100 });
    await playback.start();
    playback.write(noise(4800)); // 100 ms, then nothing: the buffer runs dry
    await waitFor(() => playback.stats().underruns >= 1, 5000, 'an underrun');
    const accepted = playback.write(noise(48000)); // 1 s into a 100 ms buffer
    const stats = playback.stats();
    playback.stop();
    assert.ok(accepted < 48000 && accepted >= 4800, `accepted ${accepted} frames`);
    assert.strictEqual(stats.overrunFrames, 48000 - accepted);
  });

  it('refuses an unknown device and partial frames clearly', async function () {
    const playback = new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, device: 'no-such-sink' });
    await assert.rejects(playback.start(), (error: Error & { code: string }) => {
      assert.strictEqual(error.code, 'ENOAPP');
      assert.match(error.message, /no-such-sink/);
      return true;
    });
    const ok = new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, device: 'speaker' });
    assert.throws(() => ok.write(Buffer.alloc(6)), /not a whole number of 4-byte frames/);
    assert.throws(() => new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, bufferMs: -1 }), /bufferMs/);
  });
});

describe('audio-out node', function () {
  this.timeout(30000);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const helper = require('node-red-node-test-helper');
  const audioOut = require('../nodes/audio-out/audio-out.js');
  helper.init(require.resolve('node-red'));
  let pulse: PulseServer;

  before(async function () {
    pulse = await startPulse();
  });
  after(async function () {
    await pulse?.stop();
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  const audio = (encoding: 's16le' | 'f32le', sampleRate = 48000) => ({ sampleRate, channels: 2, encoding, recordingId: 'r', position: 0 });

  it('restarts in the new format when the format changes, with a warning', async function () {
    await helper.load(audioOut, [{ id: 'speaker-out', type: 'audio-out', device: '', bufferMs: 50 }]);
    const node = helper.getNode('speaker-out');
    const warned = new Promise<string>((resolve) => node.on('call:warn', (call: { args: unknown[] }) => resolve(String(call.args[0]))));
    node.receive({ payload: Buffer.alloc(480 * 4), audio: audio('s16le') });
    node.receive({ payload: Buffer.alloc(441 * 8), audio: audio('f32le', 44100) });
    assert.match(await warned, /format changed from 48000 Hz 2 ch s16le to 44100 Hz 2 ch f32le: output restarted/);
  });

  it('refuses what is not PCM, with the field named', async function () {
    await helper.load(audioOut, [{ id: 'speaker-out', type: 'audio-out', device: '', bufferMs: 50 }]);
    const node = helper.getNode('speaker-out');
    const errors: string[] = [];
    node.on('call:error', (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    node.receive({ payload: 'noise' });
    node.receive({ payload: Buffer.alloc(8) });
    node.receive({ payload: Buffer.alloc(6), audio: audio('s16le') });
    await waitFor(() => errors.length === 3, 2000, 'three errors');
    assert.match(errors[0], /msg\.payload: expected a Buffer of PCM/);
    assert.match(errors[1], /msg\.audio: missing/);
    assert.match(errors[2], /6 bytes is not a whole number of 4-byte frames/);
  });
});

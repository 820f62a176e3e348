/**
 * Muted captures on PulseAudio: the app is recorded but not heard, and everything is put back
 * afterwards — also after the process holding the capture was killed.
 */
import assert from 'assert';
import { spawn } from 'child_process';
import path from 'path';
import { AudioChunk, Capture, CaptureEnd, listApps } from '../src/engine';
import { channelSamples, db, medianToneAmplitude, toneAmplitude } from './helpers/signal';
import { pactl, Player, privateSinks, sinkOfPlayer, useAudio, waitFor, waitForRendering } from './helpers/pulse';

/** Collects `seconds` of a capture (from its first frame). */
async function collect(capture: Capture, seconds: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let frames = 0;
  return new Promise((resolve, reject) => {
    capture.on('chunk', (chunk: AudioChunk) => {
      chunks.push(chunk.data);
      frames += chunk.frames;
      if (frames >= seconds * capture.format.sampleRate) {
        capture.removeAllListeners('chunk');
        resolve(Buffer.concat(chunks));
      }
    });
    capture.start().catch(reject);
  });
}

describe('muted capture on PulseAudio', function () {
  this.timeout(30000);
  const audio = useAudio([{ name: 'tone-mute', freq: 440 }]);
  let tone: Player;
  before(async function () {
    [tone] = audio.players;
    // Playing, not only connected: a stream on a null sink nobody asked a latency of starts
    // rendering up to 2 s after it connects.
    await waitForRendering(tone);
  });

  it('records the app at full level while its sink receives nothing of it; restores it on stop', async function () {
    const original = sinkOfPlayer(tone);
    assert.strictEqual(original, audio.pulse.sink);
    const muted = new Capture({ target: { kind: 'app', apps: ['tone-mute'] }, mute: true });
    const mutedEnd = new Promise<CaptureEnd>((resolve) => muted.on('end', resolve));
    const recorded = collect(muted, 1.5);
    await waitFor(() => sinkOfPlayer(tone).startsWith('audio_tap_mute_'), 5000, 'the app to move to the private sink');
    // What the original sink plays now, read through its monitor.
    const speaker = new Capture({ target: { kind: 'system' }, device: original });
    const speakerEnd = new Promise<CaptureEnd>((resolve) => speaker.on('end', resolve));
    const heard = await collect(speaker, 1);
    speaker.stop();
    await speakerEnd;
    const pcm = await recorded;
    muted.stop();
    const end = await mutedEnd;
    assert.strictEqual(end.reason, 'stopped');

    const level = medianToneAmplitude(channelSamples(pcm, 's16le', 2).subarray(4800), 440, 48000);
    assert.ok(Math.abs(db(level, 0.5)) < 1, `captured at ${db(level).toFixed(1)} dBFS`);
    const leak = toneAmplitude(channelSamples(heard, 's16le', 2), 440, 48000);
    assert.ok(db(leak) < -90, `the original sink still receives the app at ${db(leak).toFixed(1)} dBFS`);

    await waitFor(() => sinkOfPlayer(tone) === original, 2000, 'the app to be back on its sink');
    assert.deepStrictEqual(privateSinks(), []);
  });

  it("records from its start: the first chunk within half a second, the app's tone from the first 100 ms, nothing lost", async function () {
    // A new private null sink used to render its first 2 s as one block: the app's first 2 s
    // were lost and the recording began 2 s late.
    const muted = new Capture({ target: { kind: 'app', apps: ['tone-mute'] }, mute: true });
    const ended = new Promise<CaptureEnd>((resolve) => muted.on('end', resolve));
    const t0 = Date.now();
    let firstChunkMs = -1;
    muted.once('chunk', () => (firstChunkMs = Date.now() - t0));
    const pcm = await collect(muted, 1);
    const wallSeconds = (Date.now() - t0) / 1000;
    muted.stop();
    await ended;
    assert.ok(firstChunkMs >= 0 && firstChunkMs < 500, `first chunk after ${firstChunkMs} ms`);
    assert.ok(wallSeconds < 1.5, `1 s of audio took ${wallSeconds.toFixed(2)} s`);
    const head = channelSamples(pcm, 's16le', 2).subarray(0, 4800);
    assert.ok(Math.abs(db(medianToneAmplitude(head, 440, 48000, 20), 0.5)) < 1, `the first 100 ms at ${db(medianToneAmplitude(head, 440, 48000, 20)).toFixed(1)} dBFS`);
    await waitFor(() => sinkOfPlayer(tone) === audio.pulse.sink, 2000, 'the app to be back on its sink');
  });

  /** Starts a muted capture of tone-mute in a child process; resolves once the app moved. */
  async function mutedChild() {
    const script = `
      const { Capture } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'engine.js'))});
      const c = new Capture({ target: { kind: 'app', apps: ['tone-mute'] }, mute: true });
      c.on('recording', () => console.log('recording'));
      c.start().catch((e) => { console.error(e.message); process.exit(1); });
    `;
    const child = spawn(process.execPath, ['-e', script], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (data) => (out += String(data)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => out.includes('recording'), 10000, 'the child to record');
      await waitFor(() => sinkOfPlayer(tone).startsWith('audio_tap_mute_'), 5000, 'the app to move');
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return { child, exited };
  }

  /** Starts and stops a capture of the system mix: any capture start looks for stray sinks. */
  async function anyCaptureStart() {
    const other = new Capture({ target: { kind: 'system' } });
    const ended = new Promise<CaptureEnd>((resolve) => other.on('end', resolve));
    await other.start();
    other.stop();
    await ended;
  }

  it('after the capturing process is killed, the next capture start restores the app and removes the stray sink; listing apps changes nothing', async function () {
    const { child, exited } = await mutedChild();
    child.kill('SIGKILL');
    await exited;
    assert.strictEqual(privateSinks().length, 1, 'the stray private sink is left behind by the crash');
    assert.ok(sinkOfPlayer(tone).startsWith('audio_tap_mute_'));

    await listApps(); // a look: nothing changes on the server
    assert.strictEqual(privateSinks().length, 1, 'listing apps removed the stray sink');

    await anyCaptureStart();
    assert.strictEqual(sinkOfPlayer(tone), audio.pulse.sink, 'the app plays on its sink again');
    assert.deepStrictEqual(privateSinks(), []);
  });

  it("a live muted capture of another process is not judged stray (its owner token is connected); a second muted capture of the app is refused with EBUSY", async function () {
    const { child, exited } = await mutedChild();
    try {
      await anyCaptureStart();
      assert.strictEqual(privateSinks().length, 1, 'the other process\'s private sink was removed while it records');
      assert.ok(sinkOfPlayer(tone).startsWith('audio_tap_mute_'), 'the app was taken out of the live capture');

      const second = new Capture({ target: { kind: 'app', apps: ['tone-mute'] }, mute: true });
      await assert.rejects(second.start(), (error: Error & { code?: string }) => {
        assert.strictEqual(error.code, 'EBUSY');
        assert.match(error.message, /already muted by another capture \(of tone-mute, process \d+\)/);
        return true;
      });
      assert.strictEqual(privateSinks().length, 1, 'the refused capture left a sink behind');
      assert.ok(sinkOfPlayer(tone).startsWith('audio_tap_mute_'));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    // SIGTERM ends the child without its cleanup: the next start puts everything back.
    await anyCaptureStart();
    assert.strictEqual(sinkOfPlayer(tone), audio.pulse.sink);
    assert.deepStrictEqual(privateSinks(), []);
  });

  it('refuses mute for the system mix', async function () {
    await assert.rejects(new Capture({ target: { kind: 'system' }, mute: true }).start(), { code: 'EUNSUPPORTED' });
  });
});

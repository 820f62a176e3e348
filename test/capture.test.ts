/**
 * The engine against a real PulseAudio server: what is captured, sample by sample.
 */
import assert from 'assert';
import { AudioChunk, Capture, CaptureEnd, CaptureOptions, EngineError, listApps, listDevices, listTaps } from '../src/engine';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { pactl, Player, playTone, sinkInputOfPlayer, sourceOutputs, useAudio, waitFor, waitForRendering, waitForStream } from './helpers/pulse';

interface Recorded {
  pcm: Buffer;
  end: CaptureEnd;
  events: string[];
}

/** Records `seconds` of audio (counted from the first captured frame), then stops. */
async function record(options: CaptureOptions, seconds: number, during?: (capture: Capture) => void): Promise<Recorded> {
  const capture = new Capture(options);
  const chunks: Buffer[] = [];
  const events: string[] = [];
  let frames = 0;
  const wanted = seconds * capture.format.sampleRate;
  capture.on('waiting', () => events.push('waiting'));
  capture.on('recording', () => events.push('recording'));
  capture.on('chunk', (chunk: AudioChunk) => {
    chunks.push(chunk.data);
    frames += chunk.frames;
    if (frames >= wanted) capture.stop();
  });
  const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
  await capture.start();
  during?.(capture);
  const end = await ended;
  return { pcm: Buffer.concat(chunks), end, events };
}

function levels(pcm: Buffer, encoding: 's16le' | 'f32le' = 's16le', channels = 2, rate = 48000) {
  // Skip the first 100 ms: a stream joining mid-chunk starts with a partial chunk.
  const x = channelSamples(pcm, encoding, channels).subarray(Math.round(rate * 0.1));
  return { a: medianToneAmplitude(x, 440, rate), b: medianToneAmplitude(x, 1000, rate) };
}

describe('capture on PulseAudio', function () {
  this.timeout(30000);
  // Two minutes: the suite runs longer than a 30 s tone (the restarts test alone takes 9 s).
  const audio = useAudio([
    { name: 'tone-a', freq: 440, seconds: 120 },
    { name: 'tone-b', freq: 1000, seconds: 120 },
  ]);
  let a: Player;
  let b: Player;
  before(function () {
    [a, b] = audio.players;
  });

  it('lists both players with their PIDs', async function () {
    const apps = await listApps();
    const byPid = new Map(apps.map((app) => [app.pid, app]));
    assert.strictEqual(byPid.get(a.pid)?.name, 'tone-a');
    assert.strictEqual(byPid.get(b.pid)?.name, 'tone-b');
    assert.strictEqual(byPid.get(a.pid)?.executable, 'pacat');
    assert.strictEqual(byPid.get(a.pid)?.playing, true);
    assert.ok(Math.abs(byPid.get(a.pid)!.volume - 1) < 1e-6, 'full volume');
  });

  it('lists the output devices (the null sink, as default) and no taps', async function () {
    const devices = await listDevices();
    const sink = devices.find((device) => device.id === audio.pulse.sink);
    assert.ok(sink, JSON.stringify(devices));
    assert.strictEqual(sink.isDefault, true);
    assert.deepStrictEqual(sink.outputStreams, [{ index: 0, channels: 2, sampleRate: 48000 }]);
    assert.deepStrictEqual(await listTaps(), []);
  });

  it('captures one app by name: its tone, and the other at least 40 dB down; no waiting for an app that plays', async function () {
    const { pcm, end, events } = await record({ target: { kind: 'app', apps: ['tone-a'] } }, 1.5);
    assert.deepStrictEqual(events, ['recording'], 'the app plays already: the capture does not wait');
    const { a: la, b: lb } = levels(pcm);
    assert.strictEqual(end.reason, 'stopped');
    assert.ok(Math.abs(db(la, 0.5)) < 1, `440 Hz at ${db(la).toFixed(1)} dBFS, expected about −6 dBFS`);
    assert.ok(db(lb, la) < -40, `1 kHz only ${db(lb, la).toFixed(1)} dB below 440 Hz`);
  });

  it('captures the other app by PID, in f32le mono at 44.1 kHz', async function () {
    const { pcm } = await record({ target: { kind: 'app', apps: [b.pid] }, format: { sampleRate: 44100, channels: 1, encoding: 'f32le' } }, 1.5);
    const { a: la, b: lb } = levels(pcm, 'f32le', 1, 44100);
    assert.ok(Math.abs(db(lb, 0.5)) < 1, `1 kHz at ${db(lb).toFixed(1)} dBFS`);
    assert.ok(db(la, lb) < -40, `440 Hz only ${db(la, lb).toFixed(1)} dB below 1 kHz`);
  });

  it('mono is the mean of left and right on every server: a tone in both channels keeps its level, one in the left only is 6 dB down, nothing clips; muted too', async function () {
    // Played at 0.6 peak: (L + R) / 2 gives 0.6 and 0.3, a mix that peaks below 0.9. A server's
    // own downmix could not be trusted: PipeWire sums at 0.707, +3 dB, and that mix clips.
    const both = playTone('tone-both', 2000, { amplitude: 0.6 });
    const left = playTone('tone-left', 3000, { amplitude: 0.6, leftOnly: true });
    try {
      await Promise.all([waitForRendering(both), waitForRendering(left)]);
      for (const mute of [false, true]) {
        for (const encoding of ['s16le', 'f32le'] as const) {
          const what = `${mute ? 'muted ' : ''}${encoding} mono`;
          const { pcm } = await record({ target: { kind: 'app', apps: ['tone-both', 'tone-left'] }, format: { channels: 1, encoding }, mute }, 1);
          const x = channelSamples(pcm, encoding, 1).subarray(4800);
          const l2k = medianToneAmplitude(x, 2000, 48000);
          const l3k = medianToneAmplitude(x, 3000, 48000);
          const peak = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(Math.abs(db(l2k, 0.6)) < 0.5, `${what}: the tone in both channels at ${db(l2k).toFixed(2)} dBFS, expected ${db(0.6).toFixed(2)}`);
          assert.ok(Math.abs(db(l3k, 0.3)) < 0.5, `${what}: the left-only tone at ${db(l3k).toFixed(2)} dBFS, expected ${db(0.3).toFixed(2)} (−6 dB)`);
          assert.ok(peak < 0.95, `${what}: peak ${peak.toFixed(3)}, expected below 0.9 and no clipping`);
        }
      }
    } finally {
      await Promise.all([both.stop(), left.stop()]);
    }
  });

  it('captures the system mix: both tones', async function () {
    const { pcm } = await record({ target: { kind: 'system' } }, 1.5);
    const { a: la, b: lb } = levels(pcm);
    assert.ok(Math.abs(db(la, 0.5)) < 1.5, `440 Hz at ${db(la).toFixed(1)} dBFS`);
    assert.ok(Math.abs(db(lb, 0.5)) < 1.5, `1 kHz at ${db(lb).toFixed(1)} dBFS`);
  });

  it('captures the system mix minus one app: only the other', async function () {
    const { pcm } = await record({ target: { kind: 'system', exclude: ['tone-a'] } }, 1.5);
    const { a: la, b: lb } = levels(pcm);
    assert.ok(Math.abs(db(lb, 0.5)) < 1, `1 kHz at ${db(lb).toFixed(1)} dBFS`);
    assert.ok(db(la, lb) < -40, `440 Hz only ${db(la, lb).toFixed(1)} dB below 1 kHz`);
  });

  it('captures two apps mixed into one stream', async function () {
    const { pcm } = await record({ target: { kind: 'app', apps: ['tone-a', b.pid] } }, 1.5);
    const { a: la, b: lb } = levels(pcm);
    assert.ok(Math.abs(db(la, 0.5)) < 1 && Math.abs(db(lb, 0.5)) < 1, `levels ${db(la).toFixed(1)} / ${db(lb).toFixed(1)} dBFS`);
  });

  it('waits for an app that runs but does not play yet, then records it', async function () {
    const late = playTone('tone-late', 440, { delayMs: 1500 });
    try {
      const { pcm, events } = await record({ target: { kind: 'app', apps: [late.pid] } }, 1);
      assert.deepStrictEqual(events, ['waiting', 'recording']);
      const { a: la } = levels(pcm);
      assert.ok(Math.abs(db(la, 0.5)) < 1, `440 Hz at ${db(la).toFixed(1)} dBFS`);
    } finally {
      await late.stop();
    }
  });

  it("captures an app's child processes with it: a tone a shell's child plays, through the shell's PID; with processTree false, not", async function () {
    const parent = playTone('tone-child', 2000, { parentShell: true });
    try {
      await waitFor(() => pactl('list', 'sink-inputs').includes('application.name = "tone-child"'), 5000, "the child's stream");
      const { pcm } = await record({ target: { kind: 'app', apps: [parent.pid] } }, 1);
      const x = channelSamples(pcm, 's16le', 2).subarray(4800);
      const level = medianToneAmplitude(x, 2000, 48000);
      assert.ok(Math.abs(db(level, 0.5)) < 1, `the child's 2 kHz at ${db(level).toFixed(1)} dBFS, expected about −6 dBFS`);
      assert.ok(db(medianToneAmplitude(x, 440, 48000), level) < -40, 'no other app');
      // The shell itself plays nothing: only itself, the capture waits and records nothing.
      const capture = new Capture({ target: { kind: 'app', apps: [parent.pid] }, processTree: false });
      let chunks = 0;
      capture.on('chunk', () => chunks++);
      const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
      await capture.start();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      capture.stop();
      const end = await ended;
      assert.strictEqual(chunks, 0);
      assert.strictEqual(end.frames, 0);
    } finally {
      await parent.stop();
    }
  });

  it('arms a name before the app runs (its application.name, not its executable): waits, then records it; strict: ENOAPP', async function () {
    await assert.rejects(new Capture({ target: { kind: 'app', apps: ['radio-player'] }, strict: true }).start(), { code: 'ENOAPP' });
    const capture = new Capture({ target: { kind: 'app', apps: ['radio-player'] } });
    const events: string[] = [];
    const chunks: Buffer[] = [];
    capture.on('waiting', () => events.push('waiting'));
    capture.on('recording', () => events.push('recording'));
    capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk.data));
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();
    await waitFor(() => capture.state === 'waiting', 2000, 'the capture to wait');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.strictEqual(chunks.length, 0, 'nothing before the app plays');
    const player = playTone('radio-player', 3000); // the process is pacat
    try {
      await waitFor(() => chunks.length >= 60, 8000, 'a second and more of the app');
    } finally {
      await player.stop();
    }
    capture.stop();
    const end = await ended;
    assert.deepStrictEqual(events, ['waiting', 'recording']);
    assert.strictEqual(end.reason, 'stopped');
    const x = channelSamples(Buffer.concat(chunks), 's16le', 2).subarray(9600);
    const level = medianToneAmplitude(x, 3000, 48000);
    assert.ok(Math.abs(db(level, 0.5)) < 1.5, `the armed app at ${db(level).toFixed(1)} dBFS`);
  });

  it('ends with reason target-exited when the app exits mid-recording (follow: false)', async function () {
    const short = playTone('tone-short', 440);
    await waitForStream(short);
    const capture = new Capture({ target: { kind: 'app', apps: ['tone-short'] }, follow: false });
    let frames = 0;
    capture.on('chunk', (chunk: AudioChunk) => {
      frames += chunk.frames;
    });
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();
    await waitFor(() => frames > 48000 * 0.5, 5000, 'half a second of audio');
    await short.stop();
    const end = await ended;
    assert.strictEqual(end.reason, 'target-exited');
    assert.strictEqual(end.frames, frames, 'every frame counted was delivered before the end event');
  });

  it('follows an app by name across three restarts: one recording, each run in order with silence between, target-gone / target-back at the gaps', async function () {
    this.timeout(60000);
    const freq = 2500;
    let player = playTone('tone-follow', freq);
    await waitForRendering(player);
    const capture = new Capture({ target: { kind: 'app', apps: ['tone-follow'] } });
    const chunks: AudioChunk[] = [];
    const events: Array<{ event: string; position: number }> = [];
    capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk));
    capture.on('target-gone', ({ position }) => events.push({ event: 'gone', position }));
    capture.on('target-back', ({ position }) => events.push({ event: 'back', position }));
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    let started = 0; // the timeline starts with the first frame
    capture.on('recording', () => (started = Date.now()));
    await capture.start();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await sleep(1200);
      for (let run = 1; run <= 3; run++) {
        await player.stop();
        await waitFor(() => events.length === 2 * run - 1, 5000, `target-gone after run ${run}`);
        await sleep(1000);
        player = playTone('tone-follow', freq);
        await waitFor(() => events.length === 2 * run, 5000, `target-back for run ${run + 1}`);
        await sleep(1200);
      }
    } finally {
      // The capture stops first: a player that exits before it would be a fourth target-gone
      // (the capture's 250 ms check may come between the two).
      capture.stop();
      await player.stop();
    }
    const end = await ended;
    const wall = (Date.now() - started) / 1000;
    assert.strictEqual(end.reason, 'stopped', 'a followed app does not end the capture');
    assert.deepStrictEqual(events.map((e) => e.event), ['gone', 'back', 'gone', 'back', 'gone', 'back']);
    // One continuous timeline: no jump, no drop.
    let at = 0;
    for (const chunk of chunks) {
      assert.strictEqual(chunk.position, at, 'contiguous positions');
      at += chunk.frames;
    }
    assert.strictEqual(end.droppedFrames, 0);
    assert.ok(Math.abs(at / 48000 - wall) < 1, `timeline ${(at / 48000).toFixed(2)} s for ${wall.toFixed(2)} s of wall time`);
    const pcm = Buffer.concat(chunks.map((c) => c.data));
    const x = channelSamples(pcm, 's16le', 2);
    const level = (from: number, to: number) => medianToneAmplitude(x.subarray(Math.round(from * 48000), Math.round(to * 48000)), freq, 48000);
    // Each run's tone after its target-back (the first from the start), silence before it.
    const runStarts = [0, ...events.filter((e) => e.event === 'back').map((e) => e.position / 48000)];
    for (const [k, t] of runStarts.entries()) {
      assert.ok(Math.abs(db(level(t + 0.3, t + 0.9), 0.5)) < 1.5, `run ${k + 1} at ${t.toFixed(2)} s: ${db(level(t + 0.3, t + 0.9)).toFixed(1)} dBFS`);
      if (k > 0) assert.ok(db(level(t - 0.4, t - 0.05), 0.5) < -40, `silence before run ${k + 1}: ${db(level(t - 0.4, t - 0.05)).toFixed(1)} dB`);
    }
  });

  it('silent-capture (reason muted) while the app is muted in the mixer, silent-capture-end once unmuted; the audio between is silence; muted capture too', async function () {
    this.timeout(60000);
    const freq = 3000;
    const player = playTone('tone-hushed', freq, { seconds: 60 });
    try {
      await waitForRendering(player);
      const index = sinkInputOfPlayer(player);
      assert.ok(index, "the player's sink-input");
      for (const mute of [false, true]) {
        const capture = new Capture({ target: { kind: 'app', apps: ['tone-hushed'] }, mute });
        const chunks: AudioChunk[] = [];
        const events: Array<{ event: string; position: number; reason?: string; message?: string }> = [];
        capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk));
        capture.on('silent-capture', (e) => events.push({ event: 'silent', ...e }));
        capture.on('silent-capture-end', (e) => events.push({ event: 'end', ...e }));
        const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
        await capture.start();
        const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
        try {
          await sleep(800);
          assert.strictEqual(events.length, 0, 'no event while the app is heard');
          pactl('set-sink-input-mute', index, '1');
          await waitFor(() => events.length === 1, 5000, 'silent-capture');
          await sleep(1200);
          pactl('set-sink-input-mute', index, '0');
          await waitFor(() => events.length === 2, 5000, 'silent-capture-end');
          await sleep(800);
        } finally {
          pactl('set-sink-input-mute', index, '0');
          capture.stop();
        }
        await ended;
        const [silent, back] = events;
        assert.strictEqual(silent.event, 'silent', `mute ${mute}: ${JSON.stringify(events)}`);
        assert.strictEqual(silent.reason, 'muted');
        assert.match(silent.message!, /muted in the mixer.*Unmute/);
        assert.strictEqual(back.event, 'end');
        assert.ok(back.position - silent.position > 0.8 * 48000, `mute ${mute}: ${(back.position - silent.position) / 48000} s apart: ${JSON.stringify(events)}, ${chunks.length} chunks`);
        const x = channelSamples(Buffer.concat(chunks.map((c) => c.data)), 's16le', 2);
        const level = (from: number, to: number) => medianToneAmplitude(x.subarray(from, to), freq, 48000);
        // Heard before and after; between the events (less a chunk and the server's latency) nothing.
        assert.ok(Math.abs(db(level(4800, silent.position - 4800), 0.5)) < 1.5, `mute ${mute}: the tone before`);
        assert.ok(Math.abs(db(level(back.position + 14400, x.length), 0.5)) < 1.5, `mute ${mute}: the tone after`);
        const hushed = x.subarray(silent.position + 9600, back.position - 4800);
        assert.ok(hushed.length > 0.5 * 48000);
        assert.ok(hushed.every((v) => v === 0), `mute ${mute}: the muted part is silence (peak ${Math.max(...hushed.map(Math.abs))})`);
      }
    } finally {
      await player.stop();
    }
  });

  it('leaves no capture stream on the server after stop', async function () {
    const capture = new Capture({ target: { kind: 'app', apps: ['tone-a'] } });
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();
    assert.strictEqual(sourceOutputs().length, 1, 'one monitor stream while recording');
    capture.stop();
    await ended;
    await waitFor(() => sourceOutputs().length === 0, 2000, 'the monitor stream to close');
  });

  it('drops and counts chunks when JavaScript falls behind, and keeps memory bounded', async function () {
    const capture = new Capture({ target: { kind: 'system' }, chunkMs: 5, queueChunks: 2 });
    let chunks = 0;
    let lastPosition = -1;
    let gaps = 0;
    capture.on('chunk', (chunk: AudioChunk) => {
      chunks++;
      if (lastPosition >= 0 && chunk.position !== lastPosition) gaps++;
      lastPosition = chunk.position + chunk.frames;
    });
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Block the JS thread for 500 ms: ~100 chunks are produced, 2 may wait.
    const until = Date.now() + 500;
    while (Date.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 200));
    capture.stop();
    const end = await ended;
    assert.ok(end.droppedChunks >= 50, `dropped ${end.droppedChunks} chunks`);
    assert.strictEqual(chunks + end.droppedChunks, end.chunks, 'delivered + dropped = produced');
    assert.ok(gaps >= 1, 'the drop shows as a jump in position');
  });

  describe('bad input', function () {
    it('an unknown app is ENOAPP naming the apps that play (strict)', async function () {
      const capture = new Capture({ target: { kind: 'app', apps: ['no-such-app'] }, strict: true });
      await assert.rejects(capture.start(), (error: EngineError) => {
        assert.strictEqual(error.code, 'ENOAPP');
        assert.match(error.message, /no running app is named "no-such-app"/);
        assert.match(error.message, /tone-a \(PID \d+\)/);
        return true;
      });
    });

    it('a PID that is not running is ENOAPP', async function () {
      await assert.rejects(new Capture({ target: { kind: 'app', apps: [999999] } }).start(), { code: 'ENOAPP' });
    });

    it('a name that matches several apps is EAMBIGUOUS listing each', async function () {
      await assert.rejects(new Capture({ target: { kind: 'app', apps: ['pacat'] } }).start(), (error: EngineError) => {
        assert.strictEqual(error.code, 'EAMBIGUOUS');
        assert.ok(error.message.includes(`PID ${a.pid}`) && error.message.includes(`PID ${b.pid}`), error.message);
        return true;
      });
    });

    it('an invalid format is a TypeError naming the field', function () {
      assert.throws(() => new Capture({ target: { kind: 'system' }, format: { sampleRate: 7 } }), /sampleRate/);
      assert.throws(() => new Capture({ target: { kind: 'system' }, format: { channels: 6 as 2 } }), /channels/);
      assert.throws(() => new Capture({ target: { kind: 'system' }, format: { encoding: 'mp3' as 's16le' } }), /encoding/);
      assert.throws(() => new Capture({ target: { kind: 'app', apps: [] } }), /target\.apps/);
    });

    it('no server is ENOSERVER saying how to start one', async function () {
      const saved = process.env.PULSE_SERVER;
      process.env.PULSE_SERVER = 'unix:/nonexistent/pulse/native';
      try {
        await assert.rejects(listApps(), (error: EngineError) => {
          assert.strictEqual(error.code, 'ENOSERVER');
          assert.match(error.message, /PULSE_SERVER/);
          return true;
        });
      } finally {
        process.env.PULSE_SERVER = saved;
      }
    });
  });
});

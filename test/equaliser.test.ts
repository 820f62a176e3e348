/**
 * The per-app equaliser flow end to end on PulseAudio: tap-source (mute) → eq → soft-clip →
 * audio-out. The speaker sink carries the equalised tone; the sink the app played to carries
 * nothing of it.
 * Also measures the tap → speaker latency.
 */
import assert from 'assert';
import { AudioChunk, Capture, CaptureEnd, Playback } from '../src/engine';
import { channelSamples, db, toneAmplitude } from './helpers/signal';
import { nodeWithCatalog } from './helpers/i18n';
import { addNullSink, Player, playTone, PulseServer, sinkOfPlayer, startPulse, waitFor, waitForStream } from './helpers/pulse';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const helper = require('node-red-node-test-helper');
const tapSource = require('../nodes/tap-source/tap-source.js');
const eq = nodeWithCatalog('eq');
const softClip = nodeWithCatalog('soft-clip');
const audioOut = require('../nodes/audio-out/audio-out.js');

helper.init(require.resolve('node-red'));

interface Timed {
  pcm: Buffer;
  /** Wall-clock arrival (ms) and position (frames) of each chunk. */
  arrivals: Array<{ at: number; position: number }>;
}

/** Runs a capture for `ms`, keeping when each chunk arrived. */
async function timedCapture(capture: Capture, ms: number): Promise<Timed> {
  const chunks: Buffer[] = [];
  const arrivals: Timed['arrivals'] = [];
  capture.on('chunk', (chunk: AudioChunk) => {
    chunks.push(chunk.data);
    arrivals.push({ at: performance.now(), position: chunk.position });
  });
  const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
  await capture.start();
  await new Promise((resolve) => setTimeout(resolve, ms));
  capture.stop();
  await ended;
  return { pcm: Buffer.concat(chunks), arrivals };
}

/** Wall-clock times (ms) at which bursts start in a capture, from the chunk arrival times. */
function onsets(timed: Timed, rate = 48000): number[] {
  const x = channelSamples(timed.pcm, 's16le', 2);
  const found: number[] = [];
  let quietFor = rate;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) > 0.05) {
      if (quietFor > rate / 10) {
        // The chunk holding frame i arrived at `at`; frame i is (end of chunk − i) before that.
        const chunk = timed.arrivals.find((a, k) => (timed.arrivals[k + 1]?.position ?? Infinity) > i);
        const next = timed.arrivals[timed.arrivals.indexOf(chunk!) + 1];
        const chunkEnd = next ? next.position : x.length;
        found.push(chunk!.at - ((chunkEnd - i) / rate) * 1000);
      }
      quietFor = 0;
    } else {
      quietFor++;
    }
  }
  return found;
}

describe('per-app equaliser flow', function () {
  this.timeout(40000);
  let pulse: PulseServer;
  let removeSpeaker: () => void;
  let tone: Player;

  before(async function () {
    pulse = await startPulse();
    removeSpeaker = addNullSink('speaker');
    // A fresh null sink first renders one block at its default latency (2 s) before it
    // follows its streams' low latency: get that behind us.
    const prime = new Playback({ format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, device: 'speaker', bufferMs: 100 });
    await prime.start();
    prime.write(Buffer.alloc(4800 * 4));
    prime.drain();
    await waitFor(() => prime.stats().playedFrames >= 4800, 5000, 'the speaker sink to pull');
    prime.stop();
    // 100 ms bursts of 440 Hz every 500 ms: onsets to time.
    tone = playTone('tone-eq', 440, { bursts: true });
    await waitForStream(tone);
  });

  after(async function () {
    await tone?.stop();
    removeSpeaker?.();
    await pulse?.stop();
  });

  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  it('plays the app equalised on the speaker, muted at its own sink; tap → speaker latency measured', async function () {
    const original = sinkOfPlayer(tone);
    await helper.load([tapSource, eq, softClip, audioOut], [
      { id: 'tap', type: 'tap-source', targetType: 'app', app: 'tone-eq', mute: true, sampleRate: 48000, channels: 2, encoding: 'f32le', chunkMs: 10, startOnDeploy: true, wires: [['equaliser'], []] },
      // −6 dB at the tone's frequency; the soft clipper's threshold is above what remains.
      { id: 'equaliser', type: 'eq', bands: [{ type: 'peaking', frequency: 440, gain: -6, q: 1 }], preamp: 0, bypass: false, ramp: 20, wires: [['clip']] },
      { id: 'clip', type: 'soft-clip', gain: 0, threshold: -3, ceiling: -0.3, ramp: 20, wires: [['out']] },
      { id: 'out', type: 'audio-out', device: 'speaker', bufferMs: 40, wires: [] },
    ]);
    await waitFor(() => sinkOfPlayer(tone).startsWith('audio_tap_mute_'), 5000, 'the app to be muted');
    // Direct: the app's own stream (a second, unmuted capture of it). Speaker: what is heard.
    const [direct, speaker, originalSink] = await Promise.all([
      timedCapture(new Capture({ target: { kind: 'app', apps: ['tone-eq'] }, chunkMs: 10 }), 4000),
      timedCapture(new Capture({ target: { kind: 'system' }, device: 'speaker', chunkMs: 10 }), 4000),
      timedCapture(new Capture({ target: { kind: 'system' }, device: original, chunkMs: 10 }), 4000),
    ]);

    // Inside the bursts (20 ms windows holding the tone), the speaker carries the tone 6 dB
    // below the app's own level: equalised, not the original.
    const burstLevel = (t: Timed) => {
      const x = channelSamples(t.pcm, 's16le', 2);
      const levels: number[] = [];
      for (let at = 0; at + 960 <= x.length; at += 960) levels.push(toneAmplitude(x.subarray(at, at + 960), 440, 48000));
      const loudest = Math.max(...levels);
      const inside = levels.filter((level) => level > loudest / 2).sort((p, q) => p - q);
      return inside[Math.floor(inside.length / 2)];
    };
    const gain = db(burstLevel(speaker), burstLevel(direct));
    assert.ok(Math.abs(gain + 6) < 0.5, `the speaker carries the tone at ${gain.toFixed(2)} dB from the app's own level, expected −6 dB`);
    const leak = toneAmplitude(channelSamples(originalSink.pcm, 's16le', 2), 440, 48000);
    assert.ok(db(leak) < -90, `the original sink still carries the app at ${db(leak).toFixed(1)} dBFS`);

    const a = onsets(direct);
    const b = onsets(speaker);
    const delays = a.map((t) => b.find((u) => u > t && u - t < 450)).map((u, k) => (u === undefined ? NaN : u - a[k])).filter((d) => !Number.isNaN(d));
    assert.ok(delays.length >= 3, `matched ${delays.length} bursts (direct ${a.length}, speaker ${b.length})`);
    const sorted = delays.slice().sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`      tap → speaker latency: median ${median.toFixed(0)} ms over ${delays.length} bursts (min ${sorted[0].toFixed(0)}, max ${sorted[sorted.length - 1].toFixed(0)})`);
    assert.ok(median > 0 && median < 400, `latency ${median.toFixed(0)} ms`);

  });
});

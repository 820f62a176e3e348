/**
 * npm run bench:drift: whether the tracks of a multitrack capture stay aligned over a long run
 * (issue: "tracks stay aligned to within one frame over an hour"). Too long for CI (8 minutes),
 * so a bench: DRIFT_MINUTES (default 60) on a private server (test/helpers/pulse.ts: PulseAudio,
 * or PipeWire with AUDIO_TAP_TEST_SERVER=pipewire).
 *
 * Two apps play looped noise bursts (different seeds and periods) on the default null sink; one
 * process writes app a's noise to both that sink and a second null sink ("mic"), whose monitor
 * is the capture's input track: a device of its own, as a microphone is. Tracks: app a, app b,
 * the default sink's mix, the input. Only the first and the last DRIFT_WINDOW_SECONDS (default
 * 20) of the capture are kept; in each, the lag (frames) of every track against a reference is
 * found by cross-correlation: apps a and b against the mix (streams of one sink: one clock), the
 * input against app a (the same noise, through another sink: a second clock of the same
 * server). Drift = lag at the end − lag at the start. Goal: 0 frames for streams of one sink; the
 * input's is reported (two null sinks run on the same system clock, so it measures the
 * package's placement, not crystals: a real microphone drifts by its own clock's error).
 * Also the timeline against the wall clock, and the drops.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { AudioChunk, Capture, CaptureEnd } from '../src/capture';
import { channelSamples, noiseBursts } from '../test/helpers/signal';
import { addNullSink, pactl, Player, playerOf, PulseServer, startPulse, waitFor } from '../test/helpers/pulse';

const MINUTES = Number(process.env.DRIFT_MINUTES ?? 60);
const WINDOW_SECONDS = Number(process.env.DRIFT_WINDOW_SECONDS ?? 20);
const RATE = 48000;
const TRACKS = 4;
const CHANNELS = 2 * TRACKS;
const LOOP_SECONDS = 31; // the noise files loop; not a multiple of either burst period

/** The file of `make`'s PCM, made once (as test/helpers/pulse.ts's playPcm keeps them). */
function pcmFile(key: string, make: () => Buffer): string {
  const file = path.join(os.tmpdir(), `audio-tap-${key}.raw`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, make());
  return file;
}

/**
 * Plays `file` in a loop from one shell whose pacat processes write it to every sink in
 * `devices`: the first as app `name`, the others as `name`-copy-1, … (one name, one app).
 */
function loopTo(name: string, file: string, devices: string[]): Player {
  const pacat = (device: string, app: string) =>
    `pacat --playback --raw --format=s16le --rate=48000 --channels=2 --latency-msec=500 --property=application.name=${app}${device ? ` --device=${device}` : ''}`;
  const sinks = devices.slice(1).map((device, i) => `>(${pacat(device, `${name}-copy-${i + 1}`)})`).join(' ');
  const script = `while :; do cat '${file}'; done | ${devices.length > 1 ? `tee ${sinks} | ` : ''}${pacat(devices[0], name)}`;
  return playerOf(spawn('bash', ['-c', script], { stdio: 'ignore', env: process.env, detached: true }), name, true);
}

/** How many sink-inputs the server has. */
function sinkInputs(): number {
  return pactl('list', 'short', 'sink-inputs').split('\n').filter((line) => line.trim()).length;
}

/** Mean of |x| over blocks of `factor` samples: a coarse envelope for the first search. */
function envelope(x: Float64Array, factor: number): Float64Array {
  const out = new Float64Array(Math.floor(x.length / factor));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < factor; k++) sum += Math.abs(x[i * factor + k]);
    out[i] = sum / factor;
  }
  return out;
}

/** The lag in −maxLag..maxLag at which y[i + lag] best matches x[i] over x[from, to), and its score. */
function bestLag(x: Float64Array, y: Float64Array, center: number, maxLag: number, from: number, to: number): number {
  let best = { lag: center, score: -Infinity };
  for (let lag = center - maxLag; lag <= center + maxLag; lag++) {
    let sum = 0;
    for (let i = Math.max(from, -lag); i < Math.min(to, y.length - lag); i++) sum += x[i] * y[i + lag];
    if (sum > best.score) best = { lag, score: sum };
  }
  return best.lag;
}

/** The lag (frames) of `y` against `x` within ±0.5 s: on envelopes first (÷16), then sample by sample. */
function lagOf(x: Float64Array, y: Float64Array): number {
  const factor = 16;
  const ex = envelope(x, factor);
  const ey = envelope(y, factor);
  const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(ex);
  const my = mean(ey);
  for (let i = 0; i < ex.length; i++) ex[i] -= mx;
  for (let i = 0; i < ey.length; i++) ey[i] -= my;
  const coarse = bestLag(ex, ey, 0, Math.round(RATE / 2 / factor), 0, ex.length) * factor;
  // 5 s of samples around the window's middle, ±2 blocks around the coarse lag.
  const mid = Math.floor(x.length / 2);
  return bestLag(x, y, coarse, 2 * factor, mid - 2.5 * RATE, mid + 2.5 * RATE);
}

interface WindowLags {
  a: number; // app a's track against the mix
  b: number; // app b's track against the mix
  input: number; // the input track against app a's track
}

function lags(pcm: Buffer): WindowLags {
  const track = (t: number) => channelSamples(pcm, 's16le', CHANNELS, 2 * t);
  const [a, b, mix, input] = [0, 1, 2, 3].map(track);
  return { a: lagOf(mix, a), b: lagOf(mix, b), input: lagOf(a, input) };
}

export async function benchDrift(): Promise<boolean> {
  let pulse: PulseServer | undefined;
  let removeMic: (() => void) | undefined;
  const players: Player[] = [];
  try {
    pulse = await startPulse({ own: true });
    removeMic = addNullSink('drift_mic');
    const fileA = pcmFile(`drift-noise-a-${LOOP_SECONDS}`, () => noiseBursts(11, LOOP_SECONDS, 30, 300));
    const fileB = pcmFile(`drift-noise-b-${LOOP_SECONDS}`, () => noiseBursts(12, LOOP_SECONDS, 40, 370));
    const a = loopTo('drift-a', fileA, [pulse.sink, 'drift_mic']);
    const b = loopTo('drift-b', fileB, [pulse.sink]);
    players.push(a, b);
    await waitFor(() => sinkInputs() >= 3, 5000, 'the three streams');
    const capture = new Capture({
      target: {
        kind: 'tracks',
        tracks: [
          { kind: 'app', apps: ['drift-a'] },
          { kind: 'app', apps: ['drift-b'] },
          { kind: 'system' },
          { kind: 'input', device: 'drift_mic.monitor' },
        ],
      },
      format: { sampleRate: RATE, channels: 2, encoding: 's16le' },
    });
    const windowBytes = WINDOW_SECONDS * RATE * CHANNELS * 2;
    const head: Buffer[] = [];
    let headBytes = 0;
    let tail: Buffer[] = [];
    let tailBytes = 0;
    let timeline = 0;
    let jumps = 0;
    const total = MINUTES * 60 * RATE;
    let firstChunkAt = 0;
    capture.on('chunk', (chunk: AudioChunk) => {
      firstChunkAt ||= Date.now();
      if (chunk.position !== timeline) jumps++;
      timeline = chunk.position + chunk.frames;
      // Skip the first 2 s (the streams open one after another), then keep a window; the tail
      // keeps the latest window.
      if (chunk.position >= 2 * RATE && headBytes < windowBytes) {
        head.push(chunk.data);
        headBytes += chunk.data.length;
      }
      tail.push(chunk.data);
      tailBytes += chunk.data.length;
      while (tailBytes - tail[0].length >= windowBytes) tailBytes -= tail.shift()!.length;
      if (timeline >= total) capture.stop();
    });
    const events: string[] = [];
    for (const event of ['target-gone', 'target-back', 'server-lost', 'server-back', 'warning']) {
      capture.on(event, (e: unknown) => events.push(`${event} ${JSON.stringify(e)}`));
    }
    const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
    await capture.start();
    console.log(`drift benchmark: ${MINUTES} min, 4 stereo tracks (2 apps, the sink's mix, an input on a second null sink), on a private ${process.env.AUDIO_TAP_TEST_SERVER === 'pipewire' ? 'PipeWire' : 'PulseAudio'}`);
    // Progress every 10 minutes, so a long run shows it is alive.
    const progress = setInterval(() => console.log(`  … ${(timeline / RATE / 60).toFixed(1)} min recorded`), 600000);
    const end = await ended;
    clearInterval(progress);
    const wall = (Date.now() - firstChunkAt) / 1000;
    if (end.reason !== 'stopped') throw new Error(`the capture ended with ${end.reason}: ${end.code} ${end.message}`);
    const first = lags(Buffer.concat(head));
    const last = lags(Buffer.concat(tail));
    const drift = { a: last.a - first.a, b: last.b - first.b, input: last.input - first.input };
    const met = drift.a === 0 && drift.b === 0;
    console.log(`  lags at the start (frames): app a ${first.a}, app b ${first.b} against the mix; input ${first.input} against app a`);
    console.log(`  lags at the end   (frames): app a ${last.a}, app b ${last.b} against the mix; input ${last.input} against app a`);
    console.log(
      `  drift over ${(end.seconds / 60).toFixed(1)} min: app a ${drift.a}, app b ${drift.b} frames (goal 0 for streams of one sink: ${met ? 'MET' : 'NOT met'}); ` +
        `input (another sink) ${drift.input} frames`,
    );
    console.log(
      `  timeline ${end.seconds.toFixed(2)} s in ${wall.toFixed(2)} s of wall clock; ${jumps} jumps; ${end.droppedFrames ?? 0} frames dropped, ${end.overrunFrames ?? 0} overrun` +
        (events.length ? `; events: ${events.join(', ')}` : ''),
    );
    return met;
  } finally {
    for (const player of players) await player.stop();
    removeMic?.();
    await pulse?.stop();
  }
}

if (require.main === module) {
  benchDrift().then(
    (met) => process.exit(met ? 0 : 1),
    (error: Error) => {
      console.error(`bench:drift failed: ${error.message}`);
      process.exit(1);
    },
  );
}

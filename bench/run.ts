/**
 * npm run bench: the eq node's processing rate against SoX and ffmpeg on the same file, in the
 * same run, and the whole Node-RED path eq → soft-clip → wav-sink.
 *
 * Input: pink noise made by SoX (`synth pinknoise`), 48 kHz stereo f32le, BENCH_SECONDS long
 * (default 600 = 10 minutes). Filter: the 10-band graphic equaliser (low shelf 31 Hz, peaking
 * 62 Hz … 8 kHz with Q 1.41, high shelf 16 kHz), gains 3 2 1 0 −1 −2 1 2 3 4 dB, as
 *   sox:    bass 3 31 1s, equalizer f 1.41q g × 8, treble 4 16000 1s
 *   ffmpeg: lowshelf, equalizer × 8, highshelf (-threads 1 -filter_threads 1)
 *   eq:     Equalizer.process on 10 ms chunks (480 frames), in place, as the node runs it.
 * SoX and ffmpeg read the file and write to /dev/null (their time includes that I/O and
 * process start); eq's time is processing only (the chunks are in memory, as in a flow).
 * Each is timed BENCH_RUNS times (default 5), interleaved; the best run counts, since other
 * work on the machine only ever slows a run down.
 *
 * The Node-RED path runs BENCH_NODE_RED_SECONDS of the audio (default 120) through an
 * embedded runtime, 16 messages per event-loop turn, after a 10 s warm-up recording (the JIT
 * compiles the path) and once the recording's file exists (made at its first chunk); three
 * runs, the best counts, and the goal is met only if wav-sink wrote every frame in every run
 * (its summary's droppedFrames is 0). BENCH_NO_SINK=1 ends it in a debug node instead of wav-sink.
 *
 * Then the capture's own lines on a private audio server (bench/capture.ts: CPU against parec,
 * memory with a stalled consumer; bench/latency.ts: tap → message latency against parec);
 * BENCH_NO_CAPTURE=1 leaves them out.
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { Band } from '../src/dsp/cookbook';
import { Equalizer } from '../src/dsp/equalizer';
import { graphicBands, GRAPHIC_FREQUENCIES } from '../src/dsp/presets';
import { SoftClipper } from '../src/dsp/soft-clipper';
import { AudioFormat } from '../src/format';
import { benchCapture } from './capture';
import { benchLatency } from './latency';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const NODE_RED_SECONDS = Math.min(SECONDS, Number(process.env.BENCH_NODE_RED_SECONDS ?? 120));
const RATE = 48000;
const FORMAT: AudioFormat = { sampleRate: RATE, channels: 2, encoding: 'f32le' };
const CHUNK_FRAMES = 480; // 10 ms
const GAINS = [3, 2, 1, 0, -1, -2, 1, 2, 3, 4];
const BANDS: Band[] = graphicBands(GAINS);

function run(command: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.error) throw new Error(`${command} could not run (${result.error.message}); install it (apt-get install sox ffmpeg)`);
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr.toString().slice(0, 500)}`);
  return seconds;
}

const soxRaw = ['-t', 'raw', '-r', String(RATE), '-c', '2', '-e', 'floating-point', '-b', '32'];

function soxArgs(input: string): string[] {
  const effects = ['bass', String(GAINS[0]), String(GRAPHIC_FREQUENCIES[0]), '1s'];
  for (let i = 1; i < 9; i++) effects.push('equalizer', String(GRAPHIC_FREQUENCIES[i]), '1.41q', String(GAINS[i]));
  effects.push('treble', String(GAINS[9]), String(GRAPHIC_FREQUENCIES[9]), '1s');
  return ['-D', '-V1', ...soxRaw, input, ...soxRaw, '/dev/null', ...effects];
}

function ffmpegArgs(input: string): string[] {
  const filters = [`lowshelf=f=${GRAPHIC_FREQUENCIES[0]}:g=${GAINS[0]}:t=s:w=1`];
  for (let i = 1; i < 9; i++) filters.push(`equalizer=f=${GRAPHIC_FREQUENCIES[i]}:t=q:w=1.41:g=${GAINS[i]}`);
  filters.push(`highshelf=f=${GRAPHIC_FREQUENCIES[9]}:g=${GAINS[9]}:t=s:w=1`);
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '1', '-filter_threads', '1',
    '-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', input,
    '-af', filters.join(','), '-threads', '1', '-f', 'f32le', '-y', '/dev/null',
  ];
}

/** Splits `pcm` into views of 10 ms chunks (no copy), as separate message payloads. */
function chunksOf(pcm: Buffer): Buffer[] {
  const step = CHUNK_FRAMES * 8;
  const out: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += step) out.push(pcm.subarray(at, at + step));
  return out;
}

function timeEq(source: Buffer): number {
  const pcm = Buffer.from(source); // fresh data each run: the node filters in place
  const chunks = chunksOf(pcm);
  const eq = new Equalizer(FORMAT, { bands: BANDS, preamp: 0, bypass: false });
  const start = process.hrtime.bigint();
  for (const chunk of chunks) eq.process(chunk, chunk);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** The same audio as s16le, the eq node on 10 ms chunks. */
function timeEqS16(source: Buffer): number {
  const floats = new Float32Array(source.buffer, source.byteOffset, source.length / 4);
  const pcm = Buffer.alloc(floats.length * 2);
  for (let i = 0; i < floats.length; i++) pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(floats[i] * 32767))), i * 2);
  const step = CHUNK_FRAMES * 4;
  const chunks: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += step) chunks.push(pcm.subarray(at, at + step));
  const eq = new Equalizer({ ...FORMAT, encoding: 's16le' }, { bands: BANDS, preamp: 0, bypass: false });
  const start = process.hrtime.bigint();
  for (const chunk of chunks) eq.process(chunk, chunk);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function timeSoftClip(source: Buffer): number {
  const pcm = Buffer.from(source);
  const chunks = chunksOf(pcm);
  const clip = new SoftClipper(FORMAT, { gain: 6, threshold: -6, ceiling: -1 });
  const start = process.hrtime.bigint();
  for (const chunk of chunks) clip.process(chunk, chunk);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * inject → eq → soft-clip → wav-sink in an embedded Node-RED runtime (no editor, no test
 * helper, whose spies would dominate): chunks go in through the eq node's receive(), as an
 * inject node's output would, and the clock stops when wav-sink reports the file closed.
 */
async function timeNodeRed(source: Buffer, seconds: number): Promise<{ seconds: number; wallSeconds: number; sink: boolean; droppedFrames: number }> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const RED = require('node-red');
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-bench-'));
  const nodesDir = path.resolve(__dirname, '..', 'nodes');
  const sink = !process.env.BENCH_NO_SINK && fs.existsSync(path.join(nodesDir, 'wav-sink', 'wav-sink.js'));
  const flow = [
    { id: 'bench-tab', type: 'tab', label: 'bench' },
    { id: 'bench-eq', z: 'bench-tab', type: 'eq', bands: BANDS, preamp: 0, bypass: false, ramp: 20, wires: [['bench-clip']] },
    { id: 'bench-clip', z: 'bench-tab', type: 'soft-clip', gain: 0, threshold: -3, ceiling: -0.1, ramp: 20, wires: [[sink ? 'bench-sink' : 'bench-end']] },
    ...(sink ? [{ id: 'bench-sink', z: 'bench-tab', type: 'wav-sink', directory: userDir, filename: 'bench.wav', wires: [['bench-end']] }] : []),
    { id: 'bench-end', z: 'bench-tab', type: 'debug', active: false, tosidebar: false, console: false, complete: 'true', wires: [] },
  ];
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flow));
  RED.init(http.createServer(), {
    userDir,
    flowFile: 'flows.json',
    nodesDir: [nodesDir],
    httpAdminRoot: '/admin',
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: 'error', metrics: false, audit: false } },
  });
  await RED.start();
  try {
    let eq: { receive(msg: unknown): void } | null = null;
    for (let i = 0; i < 200 && !eq; i++) {
      eq = RED.nodes.getNode('bench-eq');
      if (!eq) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (!eq) throw new Error('the bench flow did not start (eq node missing)');
    const chunks = chunksOf(Buffer.from(source.subarray(0, seconds * RATE * 8)));
    const message = (recordingId: string, payload: Buffer, position: number, final = false) => ({
      payload,
      topic: 'bench',
      audio: { sampleRate: RATE, channels: 2, bitDepth: 32, encoding: 'f32le', recordingId, position, ...(final ? { final: true } : {}) },
      format: 'raw', rate: RATE, bits: 32, channels: 2, encoding: 'floating-point',
    });
    let arrived = 0;
    let droppedFrames = 0;
    let done: () => void = () => undefined;
    RED.hooks.add('onReceive.bench', (event: { destination: { id: string }; msg: { payload?: { droppedFrames?: number } } }) => {
      if (event.destination.id !== 'bench-end') return;
      arrived++;
      // wav-sink's message when the file is closed: what its write queue had to drop.
      if (sink) droppedFrames = event.msg.payload?.droppedFrames ?? 0;
      if (sink || arrived === expected) done();
    });
    let expected = 0;
    /** Feeds `count` chunks as recording `id` from chunk `from` on; resolves when all went through. */
    const feed = async (id: string, from: number, count: number): Promise<void> => {
      arrived = 0;
      expected = count - from;
      const finished = new Promise<void>((resolve) => (done = resolve));
      for (let i = from; i < count; i++) {
        eq.receive(message(id, chunks[i], i * CHUNK_FRAMES));
        // Yield now and then so delivery keeps up with the feed, as with a live source.
        if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
      }
      if (sink) eq.receive(message(id, Buffer.alloc(0), count * CHUNK_FRAMES, true));
      await finished;
    };
    // Warm-up: 10 s of audio as a recording of its own, so the JIT has compiled the path.
    await feed('warm-up', 0, Math.min(chunks.length, 1000));
    // The recording's first chunk creates its file (a few file-system round trips): done before
    // the clock starts, as it is at a live source's pace, so the figure is the steady flow.
    const first = sink ? 1 : 0;
    if (sink) {
      eq.receive(message('bench', chunks[0], 0));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const start = process.hrtime.bigint();
    await feed('bench', first, chunks.length);
    const timed = seconds - (first * CHUNK_FRAMES) / RATE;
    return { seconds: timed, wallSeconds: Number(process.hrtime.bigint() - start) / 1e9, sink, droppedFrames };
  } finally {
    RED.hooks.remove('onReceive.bench');
    await RED.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

const x = (seconds: number) => `${(SECONDS / seconds).toFixed(0)}×`;

async function main(): Promise<void> {
  const file = path.join(os.tmpdir(), `audio-tap-bench-pink-${process.pid}.f32`);
  console.log(`eq benchmark: ${SECONDS} s of 48 kHz stereo f32 pink noise, 10-band graphic chain, one core; best of ${RUNS}`);
  try {
    run('sox', ['-n', ...soxRaw, file, 'synth', String(SECONDS), 'pinknoise', 'vol', '0.3']);
    const pcm = fs.readFileSync(file);
    const times: Record<'sox' | 'ffmpeg' | 'eq', number[]> = { sox: [], ffmpeg: [], eq: [] };
    for (let r = 0; r < RUNS; r++) {
      times.sox.push(run('sox', soxArgs(file)));
      times.ffmpeg.push(run('ffmpeg', ffmpegArgs(file)));
      times.eq.push(timeEq(pcm));
      console.log(`  run ${r + 1}: sox ${x(times.sox[r])}, ffmpeg ${x(times.ffmpeg[r])}, eq ${x(times.eq[r])}`);
    }
    const best = (t: number[]) => Math.min(...t);
    const sox = SECONDS / best(times.sox);
    const ffmpeg = SECONDS / best(times.ffmpeg);
    const eq = SECONDS / best(times.eq);
    const clip = SECONDS / timeSoftClip(pcm);
    const eqS16 = SECONDS / timeEqS16(pcm);
    console.log('');
    console.log(`  sox equalizer chain        ${sox.toFixed(0).padStart(6)}× real time`);
    console.log(`  ffmpeg equalizer chain     ${ffmpeg.toFixed(0).padStart(6)}× real time  (-threads 1 -filter_threads 1)`);
    console.log(`  eq node (10 ms chunks)     ${eq.toFixed(0).padStart(6)}× real time`);
    console.log(`  eq node, s16le (10 ms)     ${eqS16.toFixed(0).padStart(6)}× real time  (one run)`);
    console.log(`  soft-clip node (10 ms)     ${clip.toFixed(0).padStart(6)}× real time  (one run; gain +6 dB, threshold −6 dBFS)`);
    console.log('');
    const vsFfmpeg = eq / ffmpeg;
    const vsSox = eq / sox;
    console.log(`  eq / ffmpeg = ${vsFfmpeg.toFixed(2)}  (goal ≥ 2)`);
    console.log(`  eq / sox    = ${vsSox.toFixed(2)}  (goal ≥ 4)`);
    console.log(`  goal ${vsFfmpeg >= 2 && vsSox >= 4 ? 'MET' : 'NOT met'}`);
    console.log('');
    // Best of three runs; a run in which wav-sink dropped (its write queue full behind a slow
    // write) lost audio, so the goal is not met whatever the speed.
    const paths = [];
    for (let r = 0; r < 3; r++) paths.push(await timeNodeRed(pcm, NODE_RED_SECONDS));
    const lossy = paths.filter((p) => p.droppedFrames > 0);
    const fastest = paths.reduce((a, b) => (b.seconds / b.wallSeconds > a.seconds / a.wallSeconds ? b : a));
    const speed = fastest.seconds / fastest.wallSeconds;
    const speeds = paths.map((p) => (p.seconds / p.wallSeconds).toFixed(0)).join(', ');
    console.log(
      `  Node-RED path inject → eq → soft-clip → ${fastest.sink ? 'wav-sink' : 'debug (no wav-sink)'}: ${speed.toFixed(0)}× real time ` +
        `(${fastest.seconds.toFixed(2)} s of audio in 10 ms messages, ${fastest.wallSeconds.toFixed(3)} s; fastest of ${paths.length} runs: ${speeds}×; ` +
        `${lossy.length ? `frames dropped in wav-sink's queue in ${lossy.length} of ${paths.length} runs (${lossy.map((p) => p.droppedFrames).join(', ')})` : 'every frame written in every run'}` +
        `; goal ≥ 500× with nothing dropped: ${speed >= 500 && lossy.length === 0 ? 'MET' : 'NOT met'})`,
    );
  } finally {
    fs.rmSync(file, { force: true });
  }
  if (!process.env.BENCH_NO_CAPTURE) {
    console.log('');
    await benchCapture();
    await benchLatency();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`bench failed: ${error.message}`);
    process.exit(1);
  },
);

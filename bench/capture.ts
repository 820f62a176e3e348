/**
 * npm run bench:capture (also the last part of npm run bench): what a capture costs, side by
 * side with the peer in the same run, on a private audio server (test/helpers/pulse.ts:
 * PulseAudio, or PipeWire with AUDIO_TAP_TEST_SERVER=pipewire) with one app playing a tone.
 *
 * - CPU: a Node.js process that captures the app (the engine API, 10 ms chunks, each chunk
 *   touched and dropped) against `parec --monitor-stream` of the same sink-input writing to
 *   /dev/null, each alone for BENCH_CAPTURE_SECONDS (default 60), whole process (utime +
 *   stime from /proc, so Node's own start-up is not counted, its idle timers are). Goal: ours
 *   at most 1.5× parec's. Beside them, the audio server's CPU in the same windows (what the
 *   capture makes the server do: a stream's latency request sets how often the sink renders),
 *   and a Node.js process that only wakes every 10 ms: the floor under any Node.js consumer.
 * - Memory with a stalled consumer: this process captures the app with its consumer paused
 *   (capture.pause(): chunks wait in its queue, then drop and count) for
 *   BENCH_STALL_SECONDS (default 120; 600 for the ten minutes of the goal), RSS sampled every
 *   5 s. Goal: flat (the last sample within 4 MiB of the one at 10 s).
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { Capture } from '../src/capture';
import { Player, playTone, PulseServer, sinkInputOfPlayer, startPulse, waitForRendering } from '../test/helpers/pulse';

const CPU_SECONDS = Number(process.env.BENCH_CAPTURE_SECONDS ?? 60);
const STALL_SECONDS = Number(process.env.BENCH_STALL_SECONDS ?? 120);
const TICK = 100; // clock ticks per second (_SC_CLK_TCK on Linux)

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/**
 * % of one core used over `seconds`, after 2 s to settle: by `child`, and by the audio server's
 * processes in the same window.
 */
async function cpuPercent(child: ChildProcess, server: number[], seconds: number): Promise<{ process: number; server: number }> {
  await sleep(2000);
  const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
  const before = { process: cpuSeconds(child.pid!), server: sum(server) };
  await sleep(seconds * 1000);
  return {
    process: ((cpuSeconds(child.pid!) - before.process) / seconds) * 100,
    server: ((sum(server) - before.server) / seconds) * 100,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A Node.js process that captures `pid` and drops every chunk after reading one sample. */
function captureProcess(pid: number): ChildProcess {
  const capture = path.resolve(__dirname, '..', 'src', 'capture.js');
  const script = `
    const { Capture } = require(${JSON.stringify(capture)});
    const c = new Capture({ target: { kind: 'app', apps: [${pid}] }, format: { sampleRate: 48000, channels: 2, encoding: 's16le' }, chunkMs: 10 });
    let sum = 0;
    c.on('chunk', (chunk) => { sum += chunk.data[0]; });
    c.on('end', (end) => { if (end.reason === 'error') { console.error(end.message); process.exit(1); } });
    c.start().catch((e) => { console.error(e.message); process.exit(1); });
    process.on('SIGTERM', () => { c.stop(); setTimeout(() => process.exit(0), 200); });
  `;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
}

interface CpuLine {
  /** % of a core: the capturing process, and the audio server meanwhile. */
  ours: { process: number; server: number };
  parec: { process: number; server: number };
  /** A Node.js process that does nothing but wake every 10 ms (a timer): what any Node.js consumer of 10 ms chunks costs at least. */
  nodeFloor: number;
}

async function measureCpu(player: Player, server: number[]): Promise<CpuLine> {
  const ourChild = captureProcess(player.pid);
  const ours = await cpuPercent(ourChild, server, CPU_SECONDS);
  await stop(ourChild);
  const parec = spawn('parec', [`--monitor-stream=${sinkInputOfPlayer(player)}`, '--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=10'], {
    stdio: ['ignore', fs.openSync('/dev/null', 'w'), 'ignore'],
    env: process.env,
  });
  const theirs = await cpuPercent(parec, server, CPU_SECONDS);
  await stop(parec);
  const timer = spawn(process.execPath, ['-e', 'let n = 0; setInterval(() => { n += 1; }, 10);'], { stdio: 'ignore' });
  const floor = await cpuPercent(timer, [], CPU_SECONDS);
  await stop(timer);
  return { ours, parec: theirs, nodeFloor: floor.process };
}

async function measureStall(player: Player): Promise<{ samples: Array<{ at: number; rssMiB: number }>; dropped: number }> {
  const capture = new Capture({ target: { kind: 'app', apps: [player.pid] }, format: { sampleRate: 48000, channels: 2, encoding: 'f32le' }, chunkMs: 10 });
  const ended = new Promise<{ droppedFrames?: number }>((resolve) => capture.once('end', resolve));
  await capture.start();
  capture.pause(); // the consumer stalls: nothing takes the chunks
  const samples: Array<{ at: number; rssMiB: number }> = [];
  for (let at = 0; at <= STALL_SECONDS; at += 5) {
    if (global.gc) global.gc();
    samples.push({ at, rssMiB: process.memoryUsage().rss / 2 ** 20 });
    if (at < STALL_SECONDS) await sleep(5000);
  }
  capture.stop();
  capture.resume(); // 'end' comes once the consumer has taken what waits for it
  const end = await ended;
  return { samples, dropped: end.droppedFrames ?? 0 };
}

/** Runs both measurements and prints their lines; resolves when the server is gone. */
export async function benchCapture(): Promise<void> {
  let pulse: PulseServer | undefined;
  let player: Player | undefined;
  try {
    pulse = await startPulse({ own: true });
    player = playTone('bench-app', 440, { seconds: CPU_SECONDS * 2 + STALL_SECONDS + 60 });
    await waitForRendering(player);
    console.log(`capture benchmark: one app playing a tone on a private ${process.env.AUDIO_TAP_TEST_SERVER === 'pipewire' ? 'PipeWire' : 'PulseAudio'}, 48 kHz stereo, 10 ms chunks`);
    const cpu = await measureCpu(player, pulse.pids());
    const ratio = cpu.ours.process / Math.max(cpu.parec.process, 0.01);
    console.log(
      `  capture CPU, whole process, ${CPU_SECONDS} s: ours ${cpu.ours.process.toFixed(2)} % of a core, parec --monitor-stream ${cpu.parec.process.toFixed(2)} %` +
        ` = ${ratio.toFixed(2)}× parec (goal ≤ 1.5×: ${ratio <= 1.5 ? 'MET' : 'NOT met'})`,
    );
    const machine = (line: { process: number; server: number }) => line.process + line.server;
    console.log(
      `  the audio server meanwhile: ${cpu.ours.server.toFixed(2)} % with ours, ${cpu.parec.server.toFixed(2)} % with parec; process and server together ` +
        `${machine(cpu.ours).toFixed(2)} % and ${machine(cpu.parec).toFixed(2)} % = ${(machine(cpu.ours) / Math.max(machine(cpu.parec), 0.01)).toFixed(2)}×`,
    );
    console.log(
      `  a Node.js process that only wakes every 10 ms (a timer, no audio): ${cpu.nodeFloor.toFixed(2)} % (the least any Node.js consumer of 10 ms chunks costs)`,
    );
    const stall = await measureStall(player);
    const at10 = stall.samples.find((s) => s.at >= 10) ?? stall.samples[0];
    const last = stall.samples[stall.samples.length - 1];
    const peak = stall.samples.reduce((a, b) => (b.rssMiB > a.rssMiB ? b : a));
    const flat = last.rssMiB - at10.rssMiB <= 4;
    console.log(
      `  RSS with a stalled consumer, ${STALL_SECONDS} s: ${at10.rssMiB.toFixed(1)} MiB at 10 s, ${last.rssMiB.toFixed(1)} MiB at the end, at most ${peak.rssMiB.toFixed(1)} MiB (at ${peak.at} s); ` +
        `${stall.dropped} frames dropped and counted (goal flat: ${flat ? 'MET' : 'NOT met'})`,
    );
  } finally {
    await player?.stop();
    await pulse?.stop();
  }
}

if (require.main === module) {
  benchCapture().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`bench:capture failed: ${error.message}`);
      process.exit(1);
    },
  );
}

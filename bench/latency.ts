/**
 * npm run bench:latency (also the end of npm run bench): tap → message latency, side by side
 * with the peer in the same run. An app plays a click every 250 ms on a private server
 * (test/helpers/pulse.ts: PulseAudio, or PipeWire with AUDIO_TAP_TEST_SERVER=pipewire); this
 * process captures it (the engine API, 10 ms chunks) while `parec --monitor-stream` of the
 * same sink-input with a 5 ms fragment (the fastest reader of the same audio) runs beside it.
 * For each click, the time its chunk event reaches JavaScript minus the time parec's bytes
 * holding it reach this process: what the capture adds over a raw monitor read. The server's
 * own latency (render to monitor) is the same for both and not counted; parec's 5 ms fragment
 * is. BENCH_LATENCY_SECONDS (default 30) of clicks. Goal: p99 ≤ 2 chunks (20 ms).
 */
import { spawn } from 'child_process';
import { AudioChunk, Capture } from '../src/capture';
import { playPcm, Player, PulseServer, sinkInputOfPlayer, startPulse, waitForRendering } from '../test/helpers/pulse';

const SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 30);
const RATE = 48000;
const PERIOD = RATE / 4; // a click every 250 ms
const CHUNK_MS = 10;
const THRESHOLD = 8000; // |sample| of a click (the clicks are 16000), far above the silence

/** A click (2 ms at half scale) every 250 ms, after 0.5 s of silence: stereo s16le. */
function clicks(seconds: number): Buffer {
  const frames = seconds * RATE;
  const out = Buffer.alloc(frames * 4);
  for (let i = RATE / 2; i < frames; i += PERIOD) {
    for (let k = 0; k < RATE / 500; k++) {
      out.writeInt16LE(16000, (i + k) * 4);
      out.writeInt16LE(16000, (i + k) * 4 + 2);
    }
  }
  return out;
}

/**
 * Feeds s16le stereo bytes as they arrive and calls `onClick(clickIndex)` at each click's first
 * frame (a sample over THRESHOLD after at least 100 ms without one).
 */
function clickDetector(onClick: () => void): (data: Buffer) => void {
  let quiet = RATE; // frames since the last loud sample
  return (data: Buffer) => {
    for (let i = 0; i + 4 <= data.length; i += 4) {
      const loud = Math.abs(data.readInt16LE(i)) > THRESHOLD;
      if (loud && quiet >= RATE / 10) onClick();
      quiet = loud ? 0 : quiet + 1;
    }
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function benchLatency(): Promise<{ p50: number; p99: number; met: boolean }> {
  let pulse: PulseServer | undefined;
  let player: Player | undefined;
  let parec: ReturnType<typeof spawn> | undefined;
  let capture: Capture | undefined;
  try {
    pulse = await startPulse({ own: true });
    player = playPcm('latency-clicks', `latency-clicks-${SECONDS + 10}`, () => clicks(SECONDS + 10));
    await waitForRendering(player);
    const theirs: number[] = [];
    const ours: number[] = [];
    const now = () => Number(process.hrtime.bigint()) / 1e6;
    parec = spawn('parec', [`--monitor-stream=${sinkInputOfPlayer(player)}`, '--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: process.env,
    });
    parec.stdout!.on('data', clickDetector(() => theirs.push(now())));
    capture = new Capture({ target: { kind: 'app', apps: [player.pid] }, format: { sampleRate: RATE, channels: 2, encoding: 's16le' }, chunkMs: CHUNK_MS });
    const detect = clickDetector(() => ours.push(now()));
    capture.on('chunk', (chunk: AudioChunk) => detect(chunk.data));
    await capture.start();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    // Pair each click of ours with parec's nearest earlier one (both saw every click once).
    const lags: number[] = [];
    for (const t of ours) {
      const before = theirs.filter((s) => s <= t + 50).pop();
      if (before !== undefined && t - before < 200) lags.push(t - before);
    }
    if (lags.length < (SECONDS * 4) / 2) throw new Error(`only ${lags.length} clicks paired (ours ${ours.length}, parec ${theirs.length})`);
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    const met = p99 <= 2 * CHUNK_MS;
    console.log(
      `  tap → message, ${lags.length} clicks, ${CHUNK_MS} ms chunks: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms after parec --monitor-stream (5 ms fragments) read them` +
        ` (goal p99 ≤ 2 chunks = ${2 * CHUNK_MS} ms: ${met ? 'MET' : 'NOT met'})`,
    );
    return { p50, p99, met };
  } finally {
    capture?.stop();
    parec?.kill('SIGTERM');
    await player?.stop();
    await pulse?.stop();
  }
}

if (require.main === module) {
  benchLatency().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`bench:latency failed: ${error.message}`);
      process.exit(1);
    },
  );
}

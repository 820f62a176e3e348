/**
 * A child process running wav-sink in node-red-node-test-helper and feeding it a counter signal
 * (no audio server): for the tests that need their own process (SIGKILL, another user).
 *
 * argv[2]: JSON {directory, filename, format, chunkFrames, seconds (0: until killed), realtime,
 * final}. Prints one JSON line per event: ready, sent {frames}, error {text}, closed {payload},
 * stopped {ms} (how long stopping the flow took), then exits.
 */
import { AudioFormat } from '../../src/format';
import { counterPcm, finalMessage, pcmMessage } from './pcm';
import { helper, sinkFlow, watch, wavSink } from './sink';

interface Plan {
  directory: string;
  filename: string;
  format: AudioFormat;
  chunkFrames: number;
  /** Seconds of audio to send; 0 sends until the process is killed. */
  seconds: number;
  /** Send at the audio's own pace (one chunk per chunk duration) instead of all at once. */
  realtime: boolean;
  /** End the recording with a final message. */
  final: boolean;
}

const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

async function main() {
  const plan = JSON.parse(process.argv[2]) as Plan;
  await new Promise<void>((resolve) => helper.startServer(resolve));
  await helper.load(wavSink, sinkFlow({ directory: plan.directory, filename: plan.filename }));
  const w = watch();
  const sink = helper.getNode('sink');
  const errorCount = { n: 0 };
  const report = setInterval(() => {
    while (errorCount.n < w.errors.length) say('error', { text: w.errors[errorCount.n++] });
  }, 5);
  helper.getNode('closed').on('input', (msg: { payload: unknown }) => say('closed', { payload: msg.payload }));
  say('ready');
  const total = plan.seconds > 0 ? Math.round(plan.seconds * plan.format.sampleRate) : Infinity;
  let sent = 0;
  const sendOne = () => {
    const n = Math.min(plan.chunkFrames, total - sent);
    sink.receive(pcmMessage(plan.format, counterPcm(plan.format, sent, n), 'child', sent));
    sent += n;
    say('sent', { frames: sent });
  };
  if (plan.realtime) {
    const started = Date.now();
    while (sent < total) {
      sendOne();
      const due = started + ((sent / plan.format.sampleRate) * 1000);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
    }
  } else {
    while (sent < total) sendOne();
  }
  if (plan.final) {
    sink.receive(finalMessage(plan.format, 'child', sent));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const stopping = Date.now();
  await helper.unload();
  say('stopped', { ms: Date.now() - stopping });
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(report);
  while (errorCount.n < w.errors.length) say('error', { text: w.errors[errorCount.n++] });
  helper.stopServer(() => process.exit(0));
}

main().catch((error) => {
  say('crashed', { text: String(error && error.stack) });
  process.exit(1);
});

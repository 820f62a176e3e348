/**
 * The main job: Node-RED (the project's own dependency) with these nodes, a user directory
 * inside the project, and the example flow "Record an app to WAV" deployed. Where no audio
 * server is reachable (a headless box, CI) it starts a private PulseAudio with a null sink;
 * either way it plays a demo app ("demo-tone") for the example to record.
 *
 * Environment: PORT (default 1880), AUDIO_TAP_USER_DIR (default <project>/.node-red-user).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { PulseServer, startPulse } from '../test/helpers/pulse';

const root = path.resolve(__dirname, '..', '..');
const userDir = path.resolve(process.env.AUDIO_TAP_USER_DIR || path.join(root, '.node-red-user'));
const port = Number(process.env.PORT || 1880);
const EXAMPLE = 'Record an app to WAV.json';

function serverReachable(): boolean {
  try {
    execFileSync('pactl', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** A short A-major arpeggio, s16le stereo 48 kHz, with 5 ms fades so notes do not click. */
function arpeggio(seconds: number): Buffer {
  const rate = 48000;
  const notes = [440, 554.37, 659.25, 880];
  const noteFrames = rate / 4;
  const fade = rate / 200;
  const frames = Math.round(seconds * rate);
  const pcm = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const note = Math.floor(i / noteFrames);
    const t = i % noteFrames;
    const envelope = Math.min(1, t / fade, (noteFrames - t) / fade);
    const v = Math.round(Math.sin((2 * Math.PI * notes[note % notes.length] * t) / rate) * 0.4 * envelope * 32767);
    pcm.writeInt16LE(v, i * 4);
    pcm.writeInt16LE(v, i * 4 + 2);
  }
  return pcm;
}

/** Plays the arpeggio from a separate process, over and over, until stopped. */
function demoPlayer(): { stop(): void } {
  const file = path.join(os.tmpdir(), 'audio-tap-demo-tone.raw');
  if (!fs.existsSync(file)) fs.writeFileSync(file, arpeggio(60));
  let child: ChildProcess | undefined;
  let stopped = false;
  const play = () => {
    if (stopped) return;
    child = spawn(
      'pacat',
      ['--playback', '--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=50', '--property=application.name=demo-tone', file],
      { stdio: 'ignore' },
    );
    child.on('exit', () => setTimeout(play, 100));
    child.on('error', (error) => console.error(`[audio-tap] cannot play the demo app: ${error.message} (apt-get install pulseaudio-utils)`));
  };
  play();
  return {
    stop() {
      stopped = true;
      child?.kill('SIGTERM');
    },
  };
}

function prepareUserDir() {
  fs.mkdirSync(userDir, { recursive: true });
  // Node-RED finds node modules in <userDir>/node_modules: link this project in.
  const modules = path.join(userDir, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  const link = path.join(modules, 'node-red-contrib-audio-tap');
  if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');
  const flows = path.join(userDir, 'flows.json');
  if (!fs.existsSync(flows)) {
    // An example holds nodes to import into a tab; a flow file needs the tab itself.
    const nodes = JSON.parse(fs.readFileSync(path.join(root, 'examples', EXAMPLE), 'utf8')) as Array<Record<string, unknown>>;
    const tab = { id: 'audio-tap-example-tab', type: 'tab', label: EXAMPLE.replace(/\.json$/, '') };
    fs.writeFileSync(flows, JSON.stringify([tab, ...nodes.map((node) => ({ ...node, z: tab.id }))], null, 2));
  }
}

async function main() {
  let pulse: PulseServer | undefined;
  if (!serverReachable()) {
    pulse = await startPulse();
    console.log(`[audio-tap] no audio server was running: started a private PulseAudio (${pulse.server}, null sink "${pulse.sink}")`);
  }
  const player = demoPlayer();
  prepareUserDir();

  const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--port', String(port), 'flows.json'], {
    stdio: 'inherit',
    env: process.env,
  });
  console.log(`[audio-tap] Node-RED editor: http://127.0.0.1:${port}/`);
  console.log(`[audio-tap] WAV files go to ${path.join(userDir, 'recordings')}`);
  console.log('[audio-tap] the example flow records "demo-tone" for 10 s, 3 s after start; Ctrl-C stops');

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    // SIGINT lets Node-RED stop its flows: wav-sink finalizes open files.
    red.kill('SIGINT');
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  red.on('exit', async (code) => {
    player.stop();
    await pulse?.stop();
    process.exit(code ?? 0);
  });
}

main().catch((error) => {
  console.error(`[audio-tap] ${error.message}`);
  process.exit(1);
});

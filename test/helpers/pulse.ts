/**
 * A private audio server for tests (and the demo): PulseAudio, or PipeWire with pipewire-pulse
 * when AUDIO_TAP_TEST_SERVER=pipewire (./pipewire.ts); either way a null sink as the default
 * sink and a private XDG_RUNTIME_DIR, reached through libpulse. Players are separate `pacat` processes playing sine tones.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { PipeWireStack, signalPulseServer, startPipeWireStack, stopPipeWireStack } from './pipewire';

export interface PulseServer {
  /** PULSE_SERVER value clients use. */
  server: string;
  /** The null sink's name (the default sink). */
  sink: string;
  /** True when this process started the server (and stop() ends it). */
  owned: boolean;
  /** The server's HOME (PulseAudio keeps module-stream-restore's database in .config/pulse). */
  home: string;
  /** The session manager's XDG_STATE_HOME (WirePlumber keeps wireplumber/restore-stream there); '' on PulseAudio. */
  state: string;
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL), as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
  /** As kill(), but keeps the server's directory, for restart(). */
  crash(): Promise<void>;
  /** After crash(): a new server on the same socket (as a service manager restarts one), with the same default sink. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): it keeps its sockets and answers nothing, as a wedged one. */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  /** The processes that serve audio now (PulseAudio; or PipeWire, WirePlumber and pipewire-pulse), for their CPU time; [] for a server not our own. */
  pids(): number[];
}

const SINK = 'audio_tap_test';

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

/** pactl against the server in process.env.PULSE_SERVER. */
export function pactl(...args: string[]): string {
  return execFileSync('pactl', args, { encoding: 'utf8', env: process.env });
}

/**
 * Uses the server named by AUDIO_TAP_TEST_PULSE_SERVER, or starts a private one, and points
 * process.env.PULSE_SERVER at it (libpulse reads it at connect time). `own`: always start a
 * private one (a test that kills its server). `kind`: this server whatever
 * AUDIO_TAP_TEST_SERVER says (a test of one server's own behaviour).
 */
export async function startPulse(options: { own?: boolean; kind?: 'pulseaudio' | 'pipewire' } = {}): Promise<PulseServer> {
  const given = process.env.AUDIO_TAP_TEST_PULSE_SERVER;
  if (given && !options.own) {
    process.env.PULSE_SERVER = given;
    const refuse = async () => {
      throw new Error('this server is not the test\'s own: start one with startPulse({ own: true })');
    };
    const refuseNow = () => {
      throw new Error('this server is not the test\'s own: start one with startPulse({ own: true })');
    };
    return { server: given, sink: pactl('get-default-sink').trim(), owned: false, home: '', state: '', stop: async () => undefined, kill: refuse, crash: refuse, restart: refuse, freeze: refuseNow, thaw: refuseNow, pids: () => [] };
  }
  if ((options.kind ?? testServerKind()) === 'pipewire') return startPipeWire();
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-pulse-'));
  const socket = path.join(runtime, 'pulse', 'native');
  let child!: ChildProcess;
  let exited = false;
  const launch = async () => {
    fs.rmSync(socket, { force: true }); // a crashed server's: the wait below is for the new one
    child = spawn(
      'pulseaudio',
      [
        '--daemonize=no',
        '-n', // no default.pa: only the modules below
        '--exit-idle-time=-1',
        '--use-pid-file=no',
        '--system=no',
        '--log-target=stderr',
        '--log-level=error',
        '-L',
        `module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
        '-L',
        `module-null-sink sink_name=${SINK} rate=48000 channels=2`,
      ],
      { env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: runtime }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (data) => (stderr += String(data)));
    exited = false;
    child.on('exit', () => (exited = true));
    try {
      await waitFor(() => exited || fs.existsSync(socket), 10000, 'the PulseAudio socket');
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    if (exited) throw new Error(`pulseaudio exited at start: ${stderr.trim()} (install it: apt-get install pulseaudio)`);
    pactl('set-default-sink', SINK);
  };
  const server = `unix:${socket}`;
  process.env.PULSE_SERVER = server;
  await launch();
  return {
    server,
    sink: SINK,
    owned: true,
    home: runtime,
    state: '',
    stop: () => {
      if (!exited) child.kill('SIGCONT'); // a frozen server must run to take SIGTERM
      return end('SIGTERM');
    },
    kill: () => end('SIGKILL'),
    crash: () => signalAndWait('SIGKILL'),
    restart: launch,
    freeze: () => {
      if (!exited) child.kill('SIGSTOP');
    },
    thaw: () => {
      if (!exited) child.kill('SIGCONT');
    },
    pids: () => (exited ? [] : [child.pid!]),
  };

  function signalAndWait(signal: NodeJS.Signals): Promise<void> {
    return new Promise<void>((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async function end(signal: NodeJS.Signals): Promise<void> {
    await signalAndWait(signal);
    fs.rmSync(runtime, { recursive: true, force: true });
  }
}

/**
 * The server the suite runs against: `pulseaudio` (the default) or `pipewire` (PipeWire with
 * WirePlumber and pipewire-pulse), from AUDIO_TAP_TEST_SERVER.
 */
export function testServerKind(): 'pulseaudio' | 'pipewire' {
  const kind = process.env.AUDIO_TAP_TEST_SERVER || 'pulseaudio';
  if (kind !== 'pulseaudio' && kind !== 'pipewire') {
    throw new Error(`AUDIO_TAP_TEST_SERVER: expected "pulseaudio" or "pipewire", got ${JSON.stringify(kind)}`);
  }
  return kind;
}

/** startPulse's PipeWire stack, behind the same PulseServer face. */
async function startPipeWire(): Promise<PulseServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-pipewire-'));
  let stack: PipeWireStack;
  try {
    stack = await startPipeWireStack(root, SINK, waitFor);
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const server = `unix:${stack.socket}`;
  process.env.PULSE_SERVER = server;
  const ready = async () => {
    // WirePlumber picks a default sink once it has seen the null sink; make it ours explicitly.
    await waitFor(() => pactl('list', 'short', 'sinks').includes(SINK), 10000, 'the null sink');
    pactl('set-default-sink', SINK);
    await waitFor(() => pactl('get-default-sink').trim() === SINK, 10000, 'the null sink as the default sink');
  };
  await ready();
  const end = async (signal: NodeJS.Signals) => {
    await stopPipeWireStack(stack, signal);
    fs.rmSync(root, { recursive: true, force: true });
  };
  return {
    server,
    sink: SINK,
    owned: true,
    home: stack.env.HOME!,
    state: stack.env.XDG_STATE_HOME!,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    crash: () => stopPipeWireStack(stack, 'SIGKILL'),
    restart: async () => {
      stack = await startPipeWireStack(root, SINK, waitFor);
      await ready();
    },
    freeze: () => signalPulseServer(stack, 'SIGSTOP'),
    pids: () => stack.daemons.filter((d) => !d.exited && d.name !== 'dbus-daemon').map((d) => d.child.pid!),
    thaw: () => signalPulseServer(stack, 'SIGCONT'),
  };
}

/** Where a tone sounds: after `leadSeconds` of silence, the first `onSeconds` of every `periodSeconds`. */
export interface Bursts {
  leadSeconds: number;
  onSeconds: number;
  periodSeconds: number;
}

/** `bursts: true`: the first 100 ms of every 500 ms (onsets to time). */
const SHORT_BURSTS: Bursts = { leadSeconds: 0, onSeconds: 0.1, periodSeconds: 0.5 };

/**
 * Interleaved s16le stereo sine: `seconds` long at 48 kHz, peak `amplitude` (0..1). With
 * `bursts`, silent but for the bursts (true: SHORT_BURSTS); with `leftOnly`, the right channel
 * is silent.
 */
export function sineS16(freq: number, seconds: number, amplitude = 0.5, rate = 48000, bursts: boolean | Bursts = false, leftOnly = false): Buffer {
  const frames = Math.round(seconds * rate);
  const buffer = Buffer.alloc(frames * 4);
  const pattern = bursts === true ? SHORT_BURSTS : bursts || undefined;
  for (let i = 0; i < frames; i++) {
    if (pattern) {
      const t = i - Math.round(pattern.leadSeconds * rate);
      if (t < 0 || t % Math.round(pattern.periodSeconds * rate) >= Math.round(pattern.onSeconds * rate)) continue;
    }
    const v = Math.round(Math.sin((2 * Math.PI * freq * i) / rate) * amplitude * 32767);
    buffer.writeInt16LE(v, i * 4);
    buffer.writeInt16LE(leftOnly ? 0 : v, i * 4 + 2);
  }
  return buffer;
}

export interface Player {
  pid: number;
  name: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Plays a sine tone from a separate `pacat` process whose application.name is `name`, on
 * `device` when given (as an app the user sent there), else the default sink. With
 * `parentShell`, pacat runs as the child of a shell whose PID is the player's (an app whose
 * audio comes from a helper process); stop() ends both.
 * `delayMs` > 0: the process starts at once but plays only after the delay (a shell that
 * sleeps, then execs pacat in the same PID).
 */
export function playTone(
  name: string,
  freq: number,
  options: { seconds?: number; amplitude?: number; delayMs?: number; bursts?: boolean | Bursts; leftOnly?: boolean; device?: string; parentShell?: boolean } = {},
): Player {
  const seconds = options.seconds ?? 30;
  const b = options.bursts === true ? SHORT_BURSTS : options.bursts || undefined;
  const variant = `${b ? `-bursts-${b.leadSeconds}-${b.onSeconds}-${b.periodSeconds}` : ''}${options.leftOnly ? '-left' : ''}`;
  const key = `tone-${freq}-${seconds}-${options.amplitude ?? 0.5}${variant}`;
  return playPcm(name, key, () => sineS16(freq, seconds, options.amplitude ?? 0.5, 48000, options.bursts, options.leftOnly), options);
}

/**
 * Plays s16le stereo 48 kHz PCM (made by `make` once, kept in a file named by `key`) from a
 * separate `pacat` process whose application.name is `name`; options as playTone's.
 */
export function playPcm(
  name: string,
  key: string,
  make: () => Buffer,
  options: { delayMs?: number; device?: string; parentShell?: boolean } = {},
): Player {
  const file = path.join(os.tmpdir(), `audio-tap-${key}.raw`);
  if (!fs.existsSync(file)) fs.writeFileSync(file, make());
  const pacat = [
    'pacat', '--playback', '--raw', '--format=s16le', '--rate=48000', '--channels=2',
    // 100 ms: low enough that a new monitor stream starts quickly, high enough that the
    // player does not underrun when the test machine is busy.
    '--latency-msec=100', `--property=application.name=${name}`,
    ...(options.device ? [`--device=${options.device}`] : []),
    file,
  ];
  const child = options.parentShell
    ? // Not exec: the shell stays the parent. Its own process group, so that stop() ends both.
      spawn('sh', ['-c', '"$@"; exit $?', 'sh', ...pacat], { stdio: 'ignore', env: process.env, detached: true })
    : options.delayMs
      ? spawn('sh', ['-c', `sleep ${options.delayMs / 1000}; exec "$@"`, 'sh', ...pacat], { stdio: 'ignore', env: process.env })
      : spawn(pacat[0], pacat.slice(1), { stdio: 'ignore', env: process.env });
  return playerOf(child, name, options.parentShell);
}

/**
 * The Player of a spawned `child` (a pacat, or a shell running some) that plays as app `name`:
 * stop() ends it, or with `group` its whole process group (the child spawned detached).
 */
export function playerOf(child: ChildProcess, name: string, group = false): Player {
  let exited = false;
  child.on('exit', () => (exited = true));
  return {
    pid: child.pid!,
    name,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once('exit', () => resolve());
        if (group) process.kill(-child.pid!, 'SIGTERM');
        else child.kill('SIGTERM');
      }),
  };
}

/** Resolves once the player has a sink-input (it is playing). */
export async function waitForStream(player: Player, timeoutMs = 5000): Promise<void> {
  await waitFor(() => pactl('list', 'sink-inputs').includes(`application.process.id = "${player.pid}"`), timeoutMs, `${player.name}'s stream`);
}

/**
 * Resolves once a monitor of the player's sink-input receives its audio, as parec sees it.
 *
 * Why: a null sink that was idle renders about 2 s ahead when a stream starts, before any
 * monitor listens; what plays in that block never reaches a monitor opened during it (parec
 * measured here: a monitor opened just after `waitForStream` got its first frame 1.9 s later,
 * 0.09 s of audio in a 2 s window; opened 3 s after, 1.98 s). A test that times a recording
 * waits for this instead of sleeping.
 */
export async function waitForRendering(player: Player, timeoutMs = 5000): Promise<void> {
  await waitForStream(player, timeoutMs);
  const blocks = pactl('list', 'sink-inputs').split(/^Sink Input #/m);
  const index = blocks.find((block) => block.includes(`application.process.id = "${player.pid}"`))?.split('\n')[0].trim();
  if (!index) throw new Error(`${player.name} has no sink-input`);
  const parec = spawn('parec', [`--monitor-stream=${index}`, '--raw', '--format=s16le', '--rate=48000', '--channels=2', '--latency-msec=20'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: process.env,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${player.name}'s audio on a monitor`)), timeoutMs);
      parec.stdout!.on('data', (data: Buffer) => {
        const samples = new Int16Array(data.buffer, data.byteOffset, data.length >> 1);
        if (samples.some((v) => v !== 0)) {
          clearTimeout(timer);
          resolve();
        }
      });
      parec.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`parec exited (${code}) before ${player.name}'s audio arrived`));
      });
    });
  } finally {
    parec.removeAllListeners('exit');
    if (parec.exitCode === null) {
      const exited = new Promise((resolve) => parec.once('exit', resolve));
      parec.kill('SIGTERM');
      await exited;
    }
  }
}

/** Capture (record) streams open on the server now. */
export function sourceOutputs(): string[] {
  return pactl('list', 'short', 'source-outputs').split('\n').filter((line) => line.trim() !== '');
}

export { waitFor };

/** Adds a null sink (an extra "speaker") to the server; returns a function that removes it. */
export function addNullSink(name: string): () => void {
  const module = pactl('load-module', 'module-null-sink', `sink_name=${name}`, 'rate=48000', 'channels=2').trim();
  return () => {
    pactl('unload-module', module);
  };
}

/** A player's sink-input block of `pactl list sink-inputs` (from its index on), or undefined. */
function sinkInputBlock(player: Player): string | undefined {
  const inputs = pactl('list', 'sink-inputs').split(/^Sink Input #/m);
  return inputs.find((block) => block.includes(`application.process.id = "${player.pid}"`));
}

/** The index of a player's sink-input ('' when it has none). */
export function sinkInputOfPlayer(player: Player): string {
  return /^\d+/.exec(sinkInputBlock(player) ?? '')?.[0] ?? '';
}

/** The private sinks of muted captures on the server (`pactl list short sinks` lines). */
export function privateSinks(): string[] {
  return pactl('list', 'short', 'sinks')
    .split('\n')
    .filter((line) => line.includes('audio_tap_mute_'));
}

/** The sink a player's sink-input plays to, by sink name. */
export function sinkOfPlayer(player: Player): string {
  const mine = sinkInputBlock(player);
  const sinkIndex = mine && /^\s*Sink: (\d+)/m.exec(mine)?.[1];
  if (!sinkIndex) return '';
  const line = pactl('list', 'short', 'sinks').split('\n').find((l) => l.split('\t')[0] === sinkIndex);
  return line ? line.split('\t')[1] : '';
}

export interface AudioFixture {
  pulse: PulseServer;
  players: Player[];
}

/**
 * Mocha hooks for a suite: a private server and tone players (each waited for until it
 * plays), started before the suite's tests and stopped after them. The returned object is
 * filled in by the before hook.
 */
export function useAudio(tones: Array<{ name: string; freq: number; bursts?: boolean; seconds?: number }>): AudioFixture {
  const fixture = { players: [] } as unknown as AudioFixture;
  before(async function () {
    fixture.pulse = await startPulse();
    fixture.players = tones.map((tone) => playTone(tone.name, tone.freq, { bursts: tone.bursts, seconds: tone.seconds }));
    await Promise.all(fixture.players.map((player) => waitForStream(player)));
  });
  after(async function () {
    await Promise.all(fixture.players.map((player) => player.stop()));
    await fixture.pulse?.stop();
  });
  return fixture;
}

/**
 * A private, headless PipeWire stack for tests: a session bus (WirePlumber exits without one),
 * `pipewire`, then `wireplumber` and `pipewire-pulse`, each with its own XDG runtime, config,
 * state and data directories below one temporary folder, and a null sink (the test "speaker")
 * from a `pipewire.conf.d` drop-in. Clients reach it as a PulseAudio server through
 * pipewire-pulse's socket. Nothing of the user's own PipeWire setup is read or written.
 *
 * The daemons write to a log file in that folder, never to the test runner's pipes: a daemon
 * that outlived its test must not hold the runner's stdout open.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import path from 'path';

/** The pieces of a running stack, in start order. */
export interface PipeWireStack {
  /** pipewire-pulse's socket: the value for PULSE_SERVER is `unix:<socket>`. */
  socket: string;
  /** Environment the daemons run in (clients need only PULSE_SERVER). */
  env: NodeJS.ProcessEnv;
  daemons: Array<{ name: string; child: ChildProcess; exited: boolean }>;
  /** What the daemons logged, for error messages. */
  log(): string;
}

/** The drop-in that creates the null sink: 48 kHz stereo, FL FR, as the PulseAudio harness's. */
function nullSinkConf(sink: string): string {
  return `context.objects = [
  { factory = adapter
    args = {
      factory.name = support.null-audio-sink
      node.name = "${sink}"
      node.description = "audio-tap test sink"
      media.class = Audio/Sink
      audio.rate = 48000
      audio.channels = 2
      audio.position = [ FL FR ]
      monitor.channel-volumes = true
      object.linger = true
    }
  }
]
`;
}

/**
 * Starts the stack in `root` (a directory the caller owns and removes: empty, or a crashed
 * stack's, which restarts with its state) and resolves once
 * pipewire-pulse's socket exists. Throws with the daemons' log when one exits at start or the
 * socket does not appear, saying what to install.
 */
export async function startPipeWireStack(
  root: string,
  sink: string,
  waitFor: (check: () => boolean, timeoutMs: number, what: string) => Promise<void>,
): Promise<PipeWireStack> {
  const dir = (name: string) => {
    const d = path.join(root, name);
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };
  const runtime = dir('runtime');
  const config = dir('config');
  fs.mkdirSync(path.join(config, 'pipewire', 'pipewire.conf.d'), { recursive: true });
  fs.writeFileSync(path.join(config, 'pipewire', 'pipewire.conf.d', 'audio-tap-test-sink.conf'), nullSinkConf(sink));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir('home'),
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: config,
    XDG_STATE_HOME: dir('state'),
    XDG_DATA_HOME: dir('data'),
    PIPEWIRE_RUNTIME_DIR: runtime,
    DISABLE_RTKIT: '1',
  };
  delete env.PULSE_SERVER;
  delete env.PIPEWIRE_REMOTE;
  const logFile = path.join(root, 'daemons.log');
  const logFd = fs.openSync(logFile, 'a');
  const daemons: PipeWireStack['daemons'] = [];
  const start = (name: string, args: string[]) => {
    const child = spawn(name, args, { env, stdio: ['ignore', logFd, logFd] });
    const daemon = { name, child, exited: false };
    child.on('exit', () => (daemon.exited = true));
    child.on('error', () => (daemon.exited = true));
    daemons.push(daemon);
    return daemon;
  };
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().slice(-2000) : '');
  const stack: PipeWireStack = { socket: path.join(runtime, 'pulse', 'native'), env, daemons, log };
  // A crashed stack's sockets (a restart in the same folder): the waits below are for new ones.
  for (const stale of ['bus', 'pipewire-0', path.join('pulse', 'native')]) fs.rmSync(path.join(runtime, stale), { force: true });
  try {
    const bus = path.join(runtime, 'bus');
    start('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=unix:path=${bus}`]);
    await waitFor(() => daemons[0].exited || fs.existsSync(bus), 10000, 'the session bus');
    env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${bus}`;
    start('pipewire', []);
    await waitFor(() => daemons[1].exited || fs.existsSync(path.join(runtime, 'pipewire-0')), 10000, 'the PipeWire socket');
    start('wireplumber', []);
    start('pipewire-pulse', []);
    await waitFor(() => daemons.some((d) => d.exited) || fs.existsSync(stack.socket), 10000, "pipewire-pulse's socket");
    const dead = daemons.find((d) => d.exited);
    if (dead) throw new Error(`${dead.name} exited at start`);
  } catch (error) {
    await stopPipeWireStack(stack, 'SIGKILL');
    throw new Error(
      `the PipeWire stack did not start (${(error as Error).message}): ${log()} ` +
        `(install it: apt-get install pipewire pipewire-bin wireplumber pipewire-pulse dbus-daemon)`,
    );
  } finally {
    fs.closeSync(logFd);
  }
  return stack;
}

/** Signals every daemon, the last started first, and resolves once all have exited. */
export async function stopPipeWireStack(stack: PipeWireStack, signal: NodeJS.Signals): Promise<void> {
  for (const daemon of [...stack.daemons].reverse()) {
    if (daemon.exited) continue;
    const exited = new Promise<void>((resolve) => daemon.child.once('exit', () => resolve()));
    daemon.child.kill('SIGCONT'); // a frozen daemon must run to take SIGTERM
    daemon.child.kill(signal);
    await exited;
  }
}

/** Sends SIGSTOP or SIGCONT to the daemon that answers clients (pipewire-pulse). */
export function signalPulseServer(stack: PipeWireStack, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const daemon = stack.daemons.find((d) => d.name === 'pipewire-pulse');
  if (daemon && !daemon.exited) daemon.child.kill(signal);
}

/**
 * A whole Node-RED (the `node-red` package this project resolves: 4.1, or 5 in the compat run)
 * in a child process, with its editor, its HTTP nodes, the core nodes and this package
 * installed into a temporary user directory, running the given flow — as a user who imported
 * an example and pressed Deploy has it.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { waitFor } from './pulse';

/** The project root (this file runs from dist/test/helpers). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface NodeRedProcess {
  /** http://127.0.0.1:<port>/ : the editor and the HTTP-in nodes. */
  url: string;
  userDir: string;
  /** Everything the process printed so far. */
  log(): string;
  /** True while the process runs. */
  running(): boolean;
  /** SIGINT (Node-RED stops its flows: wav-sink finalizes files); resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Sends `signal` (SIGKILL: a crash, nothing is finalized); resolves once the process exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /**
   * Deploys `flows` (the whole flow file) through the admin API, as the editor's Deploy button
   * does; `type`: 'full' restarts every node, 'nodes' only the changed ones. Resolves with the
   * milliseconds the deploy took.
   */
  deploy(flows: Array<Record<string, unknown>>, type: 'full' | 'nodes' | 'flows'): Promise<number>;
}

/** A TCP port that was free a moment ago, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Reads an example flow (nodes to import) from examples/. */
export function readExample(title: string): Array<Record<string, unknown>> {
  return JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'examples', `${title}.json`), 'utf8'));
}

/** An example's nodes on a tab of their own (config nodes stay global). */
export function onTab(id: string, label: string, nodes: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const tab = { id, type: 'tab', label, disabled: false, info: '' };
  return [tab, ...nodes.map((node) => ('wires' in node ? { ...node, z: id } : node))];
}

/**
 * Starts Node-RED with `nodes` (an example's nodes) on one tab, or with `nodes` as the whole
 * flow file when they hold their tabs. Resolves once the flows run. `userDir`: a user
 * directory where the package is installed already (else a new one links this project).
 * @throws Error with the process's output when it exits or does not start within 30 s.
 */
export async function startNodeRed(
  nodes: Array<Record<string, unknown>>,
  options: { env?: NodeJS.ProcessEnv; userDir?: string } = {},
): Promise<NodeRedProcess> {
  const port = await freePort();
  const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-red-'));
  if (!options.userDir) {
    const modules = path.join(userDir, 'node_modules');
    fs.mkdirSync(modules);
    fs.symlinkSync(PROJECT_ROOT, path.join(modules, 'node-red-contrib-audio-tap'), 'dir');
    // A user directory with a package.json lists the installed modules, as `npm install` leaves it.
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify({ name: 'node-red-project', private: true, dependencies: { 'node-red-contrib-audio-tap': '*' } }),
    );
  }
  fs.writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = ${JSON.stringify(
      {
        uiHost: '127.0.0.1',
        uiPort: port,
        flowFile: 'flows.json',
        credentialSecret: false,
        editorTheme: { tours: false, projects: { enabled: false } },
        telemetry: { enabled: false, updateNotification: false },
        logging: { console: { level: 'info', metrics: false, audit: false } },
      },
      null,
      2,
    )};\n`,
  );
  const flows = nodes.some((node) => node.type === 'tab') ? nodes : onTab('audio-tap-test-tab', 'test', nodes);
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));

  const child: ChildProcess = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (data) => (log += String(data)));
  child.stderr!.on('data', (data) => (log += String(data)));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  try {
    await waitFor(() => exitCode !== undefined || /Started flows/.test(log), 30000, 'Node-RED to start its flows');
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  if (exitCode !== undefined) throw new Error(`Node-RED exited with ${exitCode}:\n${log}`);
  return {
    url: `http://127.0.0.1:${port}/`,
    userDir,
    log: () => log,
    running: () => exitCode === undefined,
    stop: () => {
      if (exitCode === undefined) child.kill('SIGINT');
      return exited;
    },
    kill: async (signal) => {
      if (exitCode === undefined) child.kill(signal);
      await exited;
    },
    deploy: async (next, type) => {
      const started = Date.now();
      const response = await fetch(`http://127.0.0.1:${port}/flows`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': type, 'Node-RED-API-Version': 'v1' },
        body: JSON.stringify(next),
      });
      if (!response.ok) throw new Error(`deploy answered ${response.status}: ${await response.text()}`);
      return Date.now() - started;
    },
  };
}

/** wav-sink in node-red-node-test-helper, with its message catalog, and what it reports. */
import path from 'path';
import { translator, withCatalog } from './i18n';

// eslint-disable-next-line @typescript-eslint/no-var-requires
export const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CATALOG = path.join(ROOT, 'nodes', 'wav-sink', 'locales', 'en-US', 'wav-sink.json');

/** The wav-sink module, its RED._ reading nodes/wav-sink/locales/en-US/wav-sink.json. */
export const wavSink = withCatalog(require('../../nodes/wav-sink/wav-sink.js'), CATALOG);
/** Texts of the wav-sink catalog: t('wav-sink.status.diskFull'). */
export const t = translator(CATALOG);

export interface ClosedMessage {
  filename: string;
  payload: {
    path: string;
    requestedPath: string;
    recordingId: string;
    frames: number;
    seconds: number;
    bytes: number;
    parts: string[];
    sampleRate: number;
    channels: number;
    bitDepth: number;
    encoding: string;
    gapFrames: number;
    droppedFrames: number;
    startPosition?: number;
    reason: string;
  };
  [key: string]: unknown;
}

/** What one wav-sink node reported. */
export interface Watch {
  closed: ClosedMessage[];
  errors: string[];
  warnings: string[];
  logs: string[];
  statuses: Array<{ fill?: string; text?: string }>;
  /** Resolves with the n-th closed message (1-based). */
  nthClosed(n: number, timeoutMs?: number): Promise<ClosedMessage>;
  /** Resolves once `n` errors were reported. */
  nthError(n: number, timeoutMs?: number): Promise<string>;
}

/**
 * Clears the calls node-red-node-test-helper's spy on the runtime log has recorded. It records
 * two metric calls per message, and sinon keeps an Error per call whose stack holds the
 * message: a test of memory under many messages calls this before it measures.
 */
export function forgetLogCalls(): void {
  helper._logSpy?.resetHistory();
}

/** Polls `get` every 5 ms until it returns a value (not undefined). @throws after timeoutMs. */
export function until<T>(get: () => T | undefined, what: string, timeoutMs = 10000): Promise<T> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + timeoutMs;
    const poll = () => {
      const value = get();
      if (value !== undefined) return resolve(value);
      if (Date.now() > end) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

/** Watches the node `sink` (and the helper node `closed` wired to its output). */
export function watch(sinkId = 'sink', closedId = 'closed'): Watch {
  const w: Watch = {
    closed: [],
    errors: [],
    warnings: [],
    logs: [],
    statuses: [],
    nthClosed: (n, timeoutMs = 10000) => until(() => w.closed[n - 1], `closed message ${n}`, timeoutMs),
    nthError: (n, timeoutMs = 10000) => until(() => w.errors[n - 1], `error ${n}`, timeoutMs),
  };
  const sink = helper.getNode(sinkId);
  const text = (arg: unknown) => (arg instanceof Error ? arg.message : String(arg));
  sink.on('call:error', (call: { args: unknown[] }) => w.errors.push(text(call.args[0])));
  sink.on('call:warn', (call: { args: unknown[] }) => w.warnings.push(text(call.args[0])));
  sink.on('call:log', (call: { args: unknown[] }) => w.logs.push(text(call.args[0])));
  sink.on('call:status', (call: { args: Array<{ fill?: string; text?: string }> }) => w.statuses.push(call.args[0]));
  helper.getNode(closedId)?.on('input', (msg: ClosedMessage) => w.closed.push(msg));
  return w;
}

/** A flow of one wav-sink (id 'sink', `config` on top) wired to a helper node (id 'closed'). */
export function sinkFlow(config: Record<string, unknown>): Array<Record<string, unknown>> {
  return [
    { id: 'sink', type: 'wav-sink', name: '', wires: [['closed']], ...config },
    { id: 'closed', type: 'helper' },
  ];
}

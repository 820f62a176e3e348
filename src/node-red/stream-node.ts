/**
 * The message loop the eq and soft-clip nodes share: settings from the node's form, changed
 * by control fields on a message (ramped on every running stream), and PCM messages
 * processed in place, one processor per recording (src/dsp/streams.ts).
 */
import type { Node, NodeAPI, NodeMessage, NodeStatus } from 'node-red';
import { AudioFormat } from '../format';
import { processMessage, StreamError, StreamProcessor, StreamTable } from '../dsp/streams';
import { PcmChunk, PcmMessageError, readPcmMessage } from './pcm-message';

type Msg = NodeMessage & Record<string, unknown>;

/** Recordings a DSP node keeps state for at once (least recently used dropped beyond). */
export const MAX_STREAMS = 16;

export interface StreamNodeSpec<Settings, Stream extends StreamProcessor> {
  /** The node type, also its i18n namespace: `<type>.status.*`, `<type>.errors.*`. */
  type: string;
  /** The settings and ramp (ms) from the node's form. Throws an Error naming the field. */
  configure(): { settings: Settings; rampMs: number };
  /** The message fields that change settings. */
  controls: readonly string[];
  /**
   * Settings after a control message; `streams` are the running ones, each of which must
   * accept the result. Throws an Error naming the msg field.
   */
  merge(settings: Settings, msg: Msg, streams: Stream[]): Settings;
  /** A processor for a new stream. Throws an Error naming the field when the settings do not fit the format. */
  make(format: AudioFormat, settings: Settings, rampMs: number): Stream;
  /** Moves a running stream to new settings (ramped). */
  update(stream: Stream, settings: Settings): void;
  /** The status while all is well ({} for none). */
  idleStatus(settings: Settings): NodeStatus;
}

/**
 * Wires a DSP node: input handling, status from `<type>.status.*` keys (config, setting,
 * format, payload for what was refused; red until a message goes through again), one NaN/Inf
 * warning per recording, and close. A bad form leaves the node refusing every message with
 * the same error.
 */
export function runStreamNode<Settings, Stream extends StreamProcessor>(
  RED: NodeAPI,
  node: Node,
  spec: StreamNodeSpec<Settings, Stream>,
): void {
  const streams = new StreamTable<Stream>(MAX_STREAMS);
  const t = (key: string, values?: Record<string, string | number>) => RED._(`${spec.type}.${key}`, values);
  let settings: Settings | undefined;
  let rampMs = 0;
  let configError: Error | undefined;
  try {
    ({ settings, rampMs } = spec.configure());
  } catch (error) {
    configError = error as Error;
    node.error(t('errors.config', { error: configError.message }));
  }

  // A red status from a refused message stays until a message goes through again.
  let failed = false;
  // Streams already warned about NaN/Inf input: one warning per recording, not per chunk.
  const warned = new WeakSet<object>();

  function showStatus(): void {
    failed = false;
    if (configError || settings === undefined) {
      node.status({ fill: 'red', shape: 'ring', text: t('status.config') });
    } else {
      node.status(spec.idleStatus(settings));
    }
  }
  showStatus();

  node.on('input', (msg: Msg, send, done) => {
    const fail = (status: string, error: Error) => {
      failed = true;
      node.status({ fill: 'red', shape: 'ring', text: t(`status.${status}`) });
      done(error);
    };
    if (configError || settings === undefined) return fail('config', configError ?? new Error('no settings'));

    if (spec.controls.some((field) => msg[field] !== undefined)) {
      try {
        settings = spec.merge(settings, msg, [...streams.values()]);
      } catch (error) {
        return fail('setting', error as Error);
      }
      for (const stream of streams.values()) spec.update(stream, settings);
      showStatus();
      if (!Buffer.isBuffer(msg.payload)) return done();
    }

    let pcm: PcmChunk;
    try {
      pcm = readPcmMessage(msg);
    } catch (error) {
      return fail((error as PcmMessageError).refusal, error as Error);
    }
    let stream: Stream;
    const current = settings;
    try {
      stream = processMessage(streams, msg, pcm, (format) => spec.make(format, current, rampMs));
    } catch (error) {
      return fail((error as StreamError).failure, error as Error);
    }
    if (stream.lastNonFinite > 0 && !warned.has(stream)) {
      warned.add(stream);
      node.warn(t('errors.nonFinite', { count: stream.lastNonFinite }));
    }
    if (failed) showStatus();
    send(msg);
    done();
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    streams.clear();
    node.status({});
    done();
  });
}

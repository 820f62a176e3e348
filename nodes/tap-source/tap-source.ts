/**
 * tap-source: taps the audio output of one app (or the system mix minus chosen apps) and
 * sends it as PCM messages.
 *
 * Input:  msg.payload "start" | true, "stop" | false; optional msg.target (app name, PID,
 *         "system", or {kind, apps, exclude}), msg.duration (seconds), msg.mute (boolean).
 * Output 1: one message per chunk (msg.payload: Buffer of interleaved PCM; msg.audio: format,
 *         recordingId, position: the engine's frame position of the chunk's first frame, so
 *         chunks dropped because the flow fell behind show as a jump), and a last message with
 *         an empty payload, msg.audio.final = true and position = the end of the timeline.
 * Output 2: lifecycle events: waiting, started, warning, stopped (frames of the timeline,
 *         seconds, droppedChunks, droppedFrames, overrunFrames, reason); with "emit levels",
 *         level events (peak and RMS per channel, dBFS) four times a second of audio.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Capture, CaptureEnd, CaptureTarget } from '../../src/engine';
import { AudioFormat, normalizeFormat, pcmFields } from '../../src/format';
import { asNumber, settingNumber } from '../../src/numbers';
import { describeTarget, parseAppList, parseTarget } from '../../src/node-red/targets';
import { LevelMeter, recordingStatus } from './levels';

interface TapSourceDef extends NodeDef {
  /** 'app' (names or PIDs), 'pid', 'system' (the mix minus `exclude`), 'msg' (`app` names the property). */
  targetType: 'app' | 'pid' | 'system' | 'msg';
  app: string;
  exclude: string;
  sampleRate: string | number;
  channels: string | number;
  encoding: 's16le' | 'f32le';
  chunkMs: string | number;
  queueChunks: string | number;
  duration: string | number;
  startOnDeploy: boolean;
  emitLevels: boolean;
  mute: boolean;
  topic: string;
}

/** Level windows per second of audio (status and level events). */
const LEVELS_PER_SECOND = 4;

/** Message properties that belong to a start/stop command, not to the recording. */
const COMMAND_KEYS = new Set(['_msgid', 'payload', 'target', 'duration', 'mute', 'audio', 'format', 'rate', 'bits', 'channels', 'encoding', 'topic']);

interface Recording {
  id: string;
  capture: Capture;
  target: CaptureTarget;
  targetText: string;
  format: AudioFormat;
  extras: Record<string, unknown>;
  topic: string;
  /**
   * The end of the timeline sent so far on output 1 (frames): the position after the last
   * chunk's last frame. Dropped chunks count (they show as a jump in msg.audio.position).
   */
  timeline: number;
  meter: LevelMeter;
  /** The loudest channel's peak of the last level window, dBFS. */
  peakDb?: number;
  /** Stop once the timeline reaches this many frames (duration), or Infinity. */
  limit: number;
  stopping: boolean;
  /** macOS: the OS said the host lacks the audio-recording permission (the capture is silent). */
  noPermission?: boolean;
}

module.exports = function (RED: NodeAPI) {
  function TapSourceNode(this: Node, config: TapSourceDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const defaults = {
      targetType: (['app', 'pid', 'system', 'msg'] as const).includes(config.targetType) ? config.targetType : 'app',
      app: config.app ?? '',
      exclude: config.exclude ?? '',
      chunkMs: 20,
      queueChunks: 50,
      duration: 0,
      emitLevels: config.emitLevels === true,
      topic: config.topic ?? '',
      mute: config.mute === true,
    };
    let format: AudioFormat | undefined;
    let configError: string | undefined;
    try {
      defaults.chunkMs = settingNumber(config.chunkMs, 20, 'chunk', 'milliseconds from 1 to 1000');
      defaults.queueChunks = settingNumber(config.queueChunks, 50, 'queue', 'a number of chunks');
      defaults.duration = settingNumber(config.duration, 0, 'duration', 'seconds (0: until stopped)');
      if (defaults.duration < 0) throw new TypeError(`duration: expected seconds (0: until stopped), got ${defaults.duration}`);
      format = normalizeFormat({
        sampleRate: config.sampleRate === '' ? undefined : (config.sampleRate as number),
        channels: config.channels === '' ? undefined : (config.channels as 1 | 2),
        encoding: config.encoding || 's16le',
      });
    } catch (error) {
      configError = (error as Error).message;
    }

    let recording: Recording | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    let closing = false;
    const ended: Array<() => void> = [];

    function clearStatusTimer() {
      if (statusTimer) clearInterval(statusTimer);
      statusTimer = undefined;
    }

    function showRecording(rec: Recording) {
      clearStatusTimer();
      // A permission warning (macOS: the capture is silent) stays on the status.
      const show = () =>
        rec.noPermission
          ? node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.noPermission') })
          : node.status({ fill: 'green', shape: 'dot', text: recordingStatus(rec.timeline / rec.format.sampleRate, rec.peakDb) });
      show();
      statusTimer = setInterval(show, 1000);
    }

    function lifecycle(rec: Recording, event: string, details: Record<string, unknown>) {
      node.send([
        null,
        {
          ...rec.extras,
          topic: rec.topic,
          payload: { event, recordingId: rec.id, target: rec.target, ...details },
        } as NodeMessage,
      ]);
    }

    function start(msg: NodeMessage & Record<string, unknown>, done: (err?: Error) => void) {
      if (configError || !format) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.config') });
        return done(new Error(`tap-source configuration: ${configError}`));
      }
      if (recording) {
        // An error, not a warning: a flow that started this (an HTTP request) learns of it.
        const busy = new Error(`already recording ${recording.targetText}; send "stop" first`) as Error & { code: string };
        busy.code = 'EBUSY';
        return done(busy);
      }
      let target: CaptureTarget;
      let duration = defaults.duration;
      try {
        if (msg.target !== undefined) {
          target = parseTarget(msg.target);
        } else if (defaults.targetType === 'system') {
          target = { kind: 'system', exclude: parseAppList(defaults.exclude, 'exclude') };
        } else if (defaults.targetType === 'msg') {
          const property = defaults.app || 'target';
          const value = RED.util.getMessageProperty(msg, property);
          if (value === undefined) throw new TypeError(`msg.${property}: not set; it names the app to capture (name, PID or "system")`);
          target = parseTarget(value);
        } else {
          const apps = parseAppList(defaults.app);
          if (apps.length === 0) throw new TypeError('no app configured: pick an app in the node, or send msg.target');
          target = { kind: 'app', apps };
        }
        if (msg.mute !== undefined && typeof msg.mute !== 'boolean') {
          throw new TypeError(`msg.mute: expected true or false, got ${JSON.stringify(msg.mute)}`);
        }
        if (msg.duration !== undefined) {
          const seconds = asNumber(msg.duration);
          if (seconds === undefined || seconds <= 0) {
            throw new TypeError(`msg.duration: expected a positive number of seconds, got ${JSON.stringify(msg.duration)}`);
          }
          duration = seconds;
        }
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.input') });
        return done(error as Error);
      }

      let capture: Capture;
      try {
        capture = new Capture({
          target,
          format,
          chunkMs: defaults.chunkMs,
          queueChunks: defaults.queueChunks,
          mute: typeof msg.mute === 'boolean' ? msg.mute : defaults.mute,
        });
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.error') });
        return done(error as Error);
      }
      const extras: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(msg)) {
        if (!COMMAND_KEYS.has(key)) extras[key] = value;
      }
      const rec: Recording = {
        id: RED.util.generateId(),
        capture,
        target,
        targetText: describeTarget(target),
        format,
        extras,
        topic: typeof msg.topic === 'string' && msg.topic ? msg.topic : defaults.topic || describeTarget(target),
        timeline: 0,
        meter: new LevelMeter(format.channels, format.encoding, Math.round(format.sampleRate / LEVELS_PER_SECOND)),
        // At least one frame: a tiny positive duration still ends.
        limit: duration > 0 ? Math.max(1, Math.round(duration * format.sampleRate)) : Infinity,
        stopping: false,
      };
      recording = rec;
      node.status({ fill: 'yellow', shape: 'ring', text: RED._('tap-source.status.starting') });

      capture.on('waiting', () => {
        node.status({ fill: 'yellow', shape: 'ring', text: RED._('tap-source.status.waiting', { target: rec.targetText }) });
        lifecycle(rec, 'waiting', {});
      });
      capture.on('recording', () => {
        showRecording(rec);
        lifecycle(rec, 'started', { format: rec.format });
      });
      capture.on('warning', (text: string, code?: string) => {
        node.warn(text);
        if (code === 'EPERMISSION') {
          rec.noPermission = true;
          node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.noPermission') });
        }
        lifecycle(rec, 'warning', { message: text, ...(code ? { code } : {}) });
      });
      capture.on('chunk', (chunk) => {
        // The engine's position: chunks dropped before they reached JavaScript leave a jump,
        // which downstream nodes (wav-sink) keep as silence, so the timeline stays wall time.
        if (chunk.position >= rec.limit) return;
        let data = chunk.data;
        let frames = chunk.frames;
        if (chunk.position + frames > rec.limit) {
          frames = rec.limit - chunk.position;
          data = data.subarray(0, frames * (data.length / chunk.frames));
        }
        node.send([
          {
            ...rec.extras,
            topic: rec.topic,
            payload: data,
            ...pcmFields(rec.format, rec.id, chunk.position, rec.targetText),
          } as NodeMessage,
          null,
        ]);
        rec.timeline = chunk.position + frames;
        if (rec.meter.add(data)) {
          const levels = rec.meter.take();
          rec.peakDb = Math.max(...levels.peak);
          if (defaults.emitLevels) {
            lifecycle(rec, 'level', { peak: levels.peak, rms: levels.rms, position: rec.timeline, seconds: rec.timeline / rec.format.sampleRate });
          }
        }
        if (rec.timeline >= rec.limit && !rec.stopping) {
          rec.stopping = true;
          capture.stop();
        }
      });
      capture.on('end', (end: CaptureEnd) => finish(rec, end));

      capture.start().then(
        () => done(),
        (error: Error & { code?: string }) => {
          if (recording === rec) recording = undefined;
          node.status({ fill: 'red', shape: 'ring', text: RED._(error.code === 'EAMBIGUOUS' ? 'tap-source.status.ambiguous' : 'tap-source.status.error') });
          lifecycle(rec, 'stopped', { reason: 'error', code: error.code, error: error.message, frames: 0, seconds: 0, droppedChunks: 0, droppedFrames: 0 });
          done(error);
          flushEnded();
        },
      );
    }

    function finish(rec: Recording, end: CaptureEnd) {
      clearStatusTimer();
      if (recording === rec) recording = undefined;
      // The whole timeline, up to the duration: chunks dropped at the very end count too.
      const frames = Math.min(Math.max(end.frames, rec.timeline), rec.limit);
      const reason = frames >= rec.limit ? 'stopped' : end.reason;
      const seconds = frames / rec.format.sampleRate;
      // The last message of the recording on output 1, at the end of the timeline:
      // downstream nodes (wav-sink) finalize.
      const fields = pcmFields(rec.format, rec.id, frames, rec.targetText);
      node.send([
        {
          ...rec.extras,
          topic: rec.topic,
          payload: Buffer.alloc(0),
          ...fields,
          audio: { ...fields.audio, final: true, reason },
        } as NodeMessage,
        null,
      ]);
      lifecycle(rec, 'stopped', {
        reason,
        ...(end.code ? { code: end.code } : {}),
        ...(end.message ? { message: end.message } : {}),
        frames,
        seconds,
        droppedChunks: end.droppedChunks,
        droppedFrames: end.droppedFrames,
        overrunFrames: end.overrunFrames,
      });
      if (end.reason === 'error') {
        node.status({ fill: 'red', shape: 'ring', text: end.message ?? RED._('tap-source.status.error') });
        node.error(`recording of ${rec.targetText} failed: ${end.message}`, { payload: end });
      } else if (!closing) {
        node.status({ fill: 'grey', shape: 'ring', text: RED._(reason === 'target-exited' ? 'tap-source.status.exited' : 'tap-source.status.idle') });
      }
      flushEnded();
    }

    function flushEnded() {
      while (ended.length > 0) ended.shift()!();
    }

    node.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      const command = msg.payload;
      if (command === 'start' || command === true) {
        start(msg, done);
      } else if (command === 'stop' || command === false) {
        if (recording) recording.capture.stop();
        done();
      } else {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.command') });
        done(new Error(`msg.payload: expected "start", "stop", true or false, got ${JSON.stringify(command)}`));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      clearStatusTimer();
      if (!recording) {
        node.status({});
        return done();
      }
      // Stop and wait for the end event, so the last chunk and the final message go out
      // before the flow is torn down (wav-sink finalizes its file on them).
      const rec = recording;
      const timeout = setTimeout(() => {
        node.warn(`recording of ${rec.targetText} did not end within 5 s of close`);
        done();
      }, 5000);
      ended.push(() => {
        clearTimeout(timeout);
        node.status({});
        done();
      });
      rec.capture.stop();
    });

    if (config.startOnDeploy) {
      // Let the rest of the flow start first.
      setImmediate(() => {
        if (closing) return;
        start({ _msgid: RED.util.generateId(), payload: 'start' } as NodeMessage & Record<string, unknown>, (error?: Error) => {
          if (error) node.error(error.message);
        });
      });
    } else {
      node.status({ fill: 'grey', shape: 'ring', text: RED._('tap-source.status.idle') });
    }
  }

  RED.nodes.registerType('tap-source', TapSourceNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

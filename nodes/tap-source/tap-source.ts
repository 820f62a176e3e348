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
 *         level events (peak and RMS per channel, dBFS) four times a second of audio; with
 *         "idle after" N s, active / idle events (the app's peak level reached / stayed below
 *         the sound level, dBFS, for N s of the timeline); with "a file per activity", each
 *         active segment is a recording of its own on output 1 (recordingId <id>-<n>).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Capture, CaptureTarget, DEFAULT_SERVER_TIMEOUT } from '../../src/capture';
import { AudioFormat, normalizeFormat } from '../../src/format';
import { asNumber, settingNumber } from '../../src/numbers';
import { describeTarget, parseAppList, parseTarget, parseTrackList } from '../../src/node-red/targets';
import { DEFAULT_SOUND_DB, RecordingHost, TapRecording } from './recording';

interface TapSourceDef extends NodeDef {
  /** 'app' (names or PIDs), 'pid', 'system' (the mix minus `exclude`), 'msg' (`app` names the property). */
  targetType: 'app' | 'pid' | 'system' | 'tracks' | 'msg';
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
  /** Seconds of quiet after which the app is idle ('' or 0: no activity events). */
  idleAfter: string | number;
  /** dBFS from which audio counts as sound ('': DEFAULT_SOUND_DB). */
  soundLevel: string | number;
  /** A recording (file) per active segment; needs idleAfter. */
  splitOnActivity: boolean;
  /** Seconds to wait for a lost audio server ('': DEFAULT_SERVER_TIMEOUT; 0: end at once). */
  serverTimeout: string | number;
  mute: boolean;
  /** Apps named by name are followed across restarts (default true; older nodes lack it). */
  follow?: boolean;
  /** An app's child processes belong to it (default true). */
  processTree?: boolean;
  topic: string;
}

/** Message properties that belong to a start/stop command, not to the recording. */
const COMMAND_KEYS = new Set(['_msgid', 'payload', 'target', 'duration', 'mute', 'audio', 'format', 'rate', 'bits', 'channels', 'encoding', 'topic']);

module.exports = function (RED: NodeAPI) {
  function TapSourceNode(this: Node, config: TapSourceDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const defaults = {
      targetType: (['app', 'pid', 'system', 'tracks', 'msg'] as const).includes(config.targetType) ? config.targetType : 'app',
      app: config.app ?? '',
      exclude: config.exclude ?? '',
      chunkMs: 20,
      queueChunks: 50,
      duration: 0,
      emitLevels: config.emitLevels === true,
      idleSeconds: 0,
      soundDb: DEFAULT_SOUND_DB,
      split: config.splitOnActivity === true,
      serverTimeout: DEFAULT_SERVER_TIMEOUT,
      topic: config.topic ?? '',
      mute: config.mute === true,
      follow: config.follow !== false,
      processTree: config.processTree !== false,
    };
    let format: AudioFormat | undefined;
    let configError: string | undefined;
    try {
      defaults.chunkMs = settingNumber(config.chunkMs, 20, 'chunk', 'milliseconds from 1 to 1000');
      defaults.queueChunks = settingNumber(config.queueChunks, 50, 'queue', 'a number of chunks');
      defaults.duration = settingNumber(config.duration, 0, 'duration', 'seconds (0: until stopped)');
      if (defaults.duration < 0) throw new TypeError(`duration: expected seconds (0: until stopped), got ${defaults.duration}`);
      defaults.idleSeconds = settingNumber(config.idleAfter, 0, 'idle after', 'seconds (0: no activity events)');
      if (defaults.idleSeconds < 0) throw new TypeError(`idle after: expected seconds (0: no activity events), got ${defaults.idleSeconds}`);
      defaults.soundDb = settingNumber(config.soundLevel, DEFAULT_SOUND_DB, 'sound level', 'dBFS from -100 to 0');
      if (defaults.soundDb < -100 || defaults.soundDb > 0) throw new TypeError(`sound level: expected dBFS from -100 to 0, got ${defaults.soundDb}`);
      defaults.serverTimeout = settingNumber(config.serverTimeout, DEFAULT_SERVER_TIMEOUT, 'server timeout', 'seconds from 0 to 86400');
      if (defaults.serverTimeout < 0 || defaults.serverTimeout > 86400) {
        throw new TypeError(`server timeout: expected seconds from 0 (end at once) to 86400, got ${defaults.serverTimeout}`);
      }
      if (defaults.split && defaults.idleSeconds === 0) {
        throw new TypeError('a file per activity needs "idle after": the seconds of quiet that end a file');
      }
      format = normalizeFormat({
        sampleRate: config.sampleRate === '' ? undefined : (config.sampleRate as number),
        channels: config.channels === '' ? undefined : (config.channels as 1 | 2),
        encoding: config.encoding || 's16le',
      });
    } catch (error) {
      configError = (error as Error).message;
    }

    let recording: TapRecording | undefined;
    let closing = false;
    const host: RecordingHost = {
      sendPcm: (msg) => node.send([msg, null]),
      sendEvent: (msg) => node.send([null, msg]),
      status: (status) => node.status(status),
      warn: (text) => node.warn(text),
      error: (text, msg) => node.error(text, msg),
      t: (key, values) => RED._(key, values),
      closing: () => closing,
    };

    /** The recording under way, if any: one that has ended no longer counts. */
    function current(): TapRecording | undefined {
      return recording && recording.state !== 'ended' ? recording : undefined;
    }

    /**
     * `arm` (start on deploy): an app named by name that does not run yet is waited for. A
     * start message wants it now: ENOAPP if it does not run (an HTTP request gets its 404).
     */
    function start(msg: NodeMessage & Record<string, unknown>, done: (err?: Error) => void, arm = false) {
      if (configError || !format) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.config') });
        return done(new Error(`tap-source configuration: ${configError}`));
      }
      const busyWith = current();
      if (busyWith) {
        // An error, not a warning: a flow that started this (an HTTP request) learns of it.
        const busy = new Error(`already recording ${busyWith.targetText}; send "stop" first`) as Error & { code: string };
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
        } else if (defaults.targetType === 'tracks') {
          target = parseTrackList(defaults.app);
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
          strict: !arm,
          ...(target.kind === 'app' || target.kind === 'tracks' ? { follow: defaults.follow, processTree: defaults.processTree } : {}),
          serverTimeout: defaults.serverTimeout,
        });
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.error') });
        return done(error as Error);
      }
      const extras: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(msg)) {
        if (!COMMAND_KEYS.has(key)) extras[key] = value;
      }
      const rec = new TapRecording(
        capture,
        {
          id: RED.util.generateId(),
          target,
          format: capture.format,
          ...(capture.tracks ? { tracks: capture.tracks } : {}),
          extras,
          topic: typeof msg.topic === 'string' && msg.topic ? msg.topic : defaults.topic || describeTarget(target),
          duration,
          emitLevels: defaults.emitLevels,
          idleSeconds: defaults.idleSeconds,
          soundDb: defaults.soundDb,
          split: defaults.split,
        },
        host,
      );
      recording = rec;
      rec.start().then(
        () => done(),
        (error: Error) => done(error),
      );
    }

    node.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      const command = msg.payload;
      if (command === 'start' || command === true) {
        start(msg, done);
      } else if (command === 'stop' || command === false) {
        current()?.stop();
        done();
      } else {
        node.status({ fill: 'red', shape: 'ring', text: RED._('tap-source.status.command') });
        done(new Error(`msg.payload: expected "start", "stop", true or false, got ${JSON.stringify(command)}`));
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      const rec = current();
      if (!rec) {
        node.status({});
        return done();
      }
      // Stop and wait for the end, so the last chunk and the final message go out before the
      // flow is torn down (wav-sink finalizes its file on them).
      const timeout = setTimeout(() => {
        node.warn(`recording of ${rec.targetText} did not end within 5 s of close`);
        done();
      }, 5000);
      void rec.ended.then(() => {
        clearTimeout(timeout);
        node.status({});
        done();
      });
      rec.stop();
    });

    if (config.startOnDeploy) {
      // Let the rest of the flow start first.
      setImmediate(() => {
        if (closing) return;
        const msg = { _msgid: RED.util.generateId(), payload: 'start' } as NodeMessage & Record<string, unknown>;
        // With the msg, so that a catch node can act on a start that failed (no app, no server).
        start(
          msg,
          (error?: Error) => {
            // The Error itself: Node-RED copies its code to msg.error.code, as for done(err).
            if (error) node.error(error, msg);
          },
          true,
        );
      });
    } else {
      node.status({ fill: 'grey', shape: 'ring', text: RED._('tap-source.status.idle') });
    }
  }

  RED.nodes.registerType('tap-source', TapSourceNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

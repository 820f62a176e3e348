/**
 * wav-sink: writes the PCM messages of each recording to a WAV file (one file per
 * recordingId) with the `wav` package, and finalizes the header when the recording ends
 * (msg.audio.final), on redeploy and on shutdown.
 *
 * Input:  PCM messages as tap-source sends them; msg.filename (optional) names the file of a
 *         recording when its first message arrives.
 * Output: one message per closed file: msg.payload {path, frames, seconds, bytes, …},
 *         msg.filename = path.
 */
import fs from 'fs';
import path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { FileWriter } from 'wav';
import { AudioFormat, AudioInfo, bitDepth, bytesPerFrame, formatOfMessage } from '../../src/format';

interface WavSinkDef extends NodeDef {
  directory: string;
  filename: string;
}

/** Files open at once (one per concurrent recording): memory and descriptors stay bounded. */
const MAX_OPEN_FILES = 16;
/** Largest gap (dropped chunks) filled with silence, in seconds; a larger jump is an error. */
const MAX_GAP_SECONDS = 10;
/** How long a closing node still takes the end of its open recordings (ms). */
const CLOSE_GRACE_MS = 1000;
const PCM_KEYS = new Set(['_msgid', 'payload', 'audio', 'format', 'rate', 'bits', 'channels', 'encoding', 'filename']);

/** The path of a recording's file, relative names resolved inside `directory`. */
export function resolveInside(directory: string, name: string): string {
  const base = path.resolve(directory);
  const full = path.resolve(base, name);
  if (full !== base && full.startsWith(base + path.sep)) return full;
  throw new Error(
    `file name ${JSON.stringify(name)} resolves to ${full}, outside the directory ${base}; give a name inside it (no "..", no absolute path elsewhere)`,
  );
}

function timestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** A placeholder value may not add path separators or "..": they could leave the directory. */
function safePart(value: unknown): string {
  return String(value ?? '').replace(/[\\/:*?"<>|\x00-\x1f]+/g, '_').replace(/^\.+/, '_') || '_';
}

/**
 * Expands {app}, {topic}, {timestamp}, {recordingId} and {date} in a file name pattern and
 * adds ".wav" when the name has no extension.
 */
export function expandFilename(pattern: string, values: { app: string; topic: string; recordingId: string; now: Date }): string {
  let name = pattern.replace(/\{(app|topic|timestamp|recordingId|date)\}/g, (_m, key: string) => {
    switch (key) {
      case 'app':
        return safePart(values.app);
      case 'topic':
        return safePart(values.topic);
      case 'timestamp':
        return timestamp(values.now);
      case 'date':
        return timestamp(values.now).slice(0, 8);
      default:
        return safePart(values.recordingId);
    }
  });
  if (path.extname(name) === '') name += '.wav';
  return name;
}

interface OpenFile {
  path: string;
  format: AudioFormat;
  frameBytes: number;
  writer: FileWriter;
  finished: Promise<void>;
  frames: number;
  gapFrames: number;
  extras: Record<string, unknown>;
  recordingId: string;
  failed?: Error;
}

module.exports = function (RED: NodeAPI) {
  function WavSinkNode(this: Node, config: WavSinkDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir ?? process.cwd();
    const directory = path.resolve(userDir, config.directory || 'recordings');
    const pattern = config.filename || '{app}-{timestamp}.wav';
    const files = new Map<string, OpenFile>();
    let closing = false;

    function showStatus() {
      if (files.size === 0) {
        node.status({});
      } else {
        node.status({ fill: 'green', shape: 'dot', text: `writing ${files.size}` });
      }
    }

    function open(msg: NodeMessage & Record<string, unknown>, audio: AudioInfo, format: AudioFormat): OpenFile {
      if (files.size >= MAX_OPEN_FILES) {
        throw new Error(`${MAX_OPEN_FILES} files are open already; end a recording before starting another`);
      }
      const requested = typeof msg.filename === 'string' && msg.filename !== '' ? msg.filename : pattern;
      if (msg.filename !== undefined && typeof msg.filename !== 'string') {
        throw new TypeError(`msg.filename: expected a string, got ${typeof msg.filename}`);
      }
      const name = expandFilename(requested, {
        app: audio.source ?? (typeof msg.topic === 'string' && msg.topic ? msg.topic : 'audio'),
        topic: typeof msg.topic === 'string' ? msg.topic : '',
        recordingId: audio.recordingId,
        now: new Date(),
      });
      const file = resolveInside(directory, name);
      for (const other of files.values()) {
        if (other.path === file) {
          throw new Error(`${file} is being written by recording ${other.recordingId}; give this recording another file name (use {recordingId} or {timestamp})`);
        }
      }
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const writer = new FileWriter(file, {
        sampleRate: format.sampleRate,
        channels: format.channels,
        bitDepth: bitDepth(format.encoding),
        // WAVE_FORMAT_PCM = 1, WAVE_FORMAT_IEEE_FLOAT = 3
        format: format.encoding === 'f32le' ? 3 : 1,
      } as ConstructorParameters<typeof FileWriter>[1]);
      const extras: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(msg)) {
        if (!PCM_KEYS.has(key)) extras[key] = value;
      }
      const entry: OpenFile = {
        path: file,
        format,
        frameBytes: bytesPerFrame(format),
        writer,
        finished: Promise.resolve(),
        frames: 0,
        gapFrames: 0,
        extras,
        recordingId: audio.recordingId,
      };
      // The header is rewritten on 'done'; the data stream closes on its own 'close'. An
      // error settles it too, so a failed file never holds up a close.
      const stream = (writer as unknown as { file: fs.WriteStream }).file;
      let fail: (error: Error) => void = () => undefined;
      entry.finished = new Promise<void>((resolve) => {
        let waiting = 2;
        const one = () => --waiting === 0 && resolve();
        writer.once('done', one);
        stream.once('close', one);
        fail = (error: Error) => {
          entry.failed ??= error;
          resolve();
        };
      });
      writer.on('error', fail);
      stream.on('error', fail);
      files.set(audio.recordingId, entry);
      showStatus();
      return entry;
    }

    /** Finalizes a file and sends its details. Resolves when the header is on disk. */
    async function close(entry: OpenFile, send: (msg: NodeMessage) => void, reason: string): Promise<void> {
      files.delete(entry.recordingId);
      // The wav package rewrites the header by reopening the file: the file must exist by
      // then, which it does only once the data stream has opened it (a recording of a few
      // chunks can end sooner).
      const stream = (entry.writer as unknown as { file: fs.WriteStream }).file;
      if (stream.pending) {
        await new Promise<void>((resolve) => {
          stream.once('ready', resolve);
          stream.once('error', () => resolve());
        });
      }
      entry.writer.end();
      await entry.finished;
      showStatus();
      if (entry.failed) {
        node.error(`writing ${entry.path} failed: ${entry.failed.message}`, {});
        return;
      }
      const bytes = entry.frames * entry.frameBytes;
      send({
        ...entry.extras,
        filename: entry.path,
        payload: {
          path: entry.path,
          recordingId: entry.recordingId,
          frames: entry.frames,
          seconds: entry.frames / entry.format.sampleRate,
          bytes,
          sampleRate: entry.format.sampleRate,
          channels: entry.format.channels,
          bitDepth: bitDepth(entry.format.encoding),
          encoding: entry.format.encoding,
          gapFrames: entry.gapFrames,
          reason,
        },
      } as NodeMessage);
    }

    node.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      const fail = (text: string, error: Error) => {
        node.status({ fill: 'red', shape: 'ring', text });
        done(error);
      };
      if (!Buffer.isBuffer(msg.payload)) {
        const kind = msg.payload === null ? 'null' : typeof msg.payload;
        return fail('not PCM', new TypeError(`msg.payload: expected a Buffer of PCM (as tap-source sends), got ${kind}`));
      }
      let format: AudioFormat;
      try {
        format = formatOfMessage(msg);
      } catch (error) {
        return fail('no format', error as Error);
      }
      const audio = (msg.audio ?? {}) as Partial<AudioInfo>;
      const recordingId = typeof audio.recordingId === 'string' && audio.recordingId ? audio.recordingId : `topic:${String(msg.topic ?? '')}`;
      const frameBytes = bytesPerFrame(format);
      if (msg.payload.length % frameBytes !== 0) {
        return fail('partial frame', new RangeError(`msg.payload: ${msg.payload.length} bytes is not a whole number of ${frameBytes}-byte frames`));
      }
      let entry = files.get(recordingId);
      if (closing && !entry) return done(); // no new files while the flow stops
      if (entry && (entry.format.sampleRate !== format.sampleRate || entry.format.channels !== format.channels || entry.format.encoding !== format.encoding)) {
        const want = `${entry.format.sampleRate} Hz ${entry.format.channels} ch ${entry.format.encoding}`;
        const got = `${format.sampleRate} Hz ${format.channels} ch ${format.encoding}`;
        return fail('format changed', new Error(`chunk format ${got} differs from the open file's ${want} (${entry.path}); the chunk was not written`));
      }
      if (!entry && msg.payload.length === 0 && audio.final) {
        return done(); // a recording that delivered nothing: no file
      }
      try {
        entry = entry ?? open(msg, audio as AudioInfo, format);
      } catch (error) {
        return fail('bad file name', error as Error);
      }
      // Frames dropped upstream show as a jump in position: keep the timeline with silence.
      if (typeof audio.position === 'number' && audio.position > entry.frames) {
        const gap = audio.position - entry.frames;
        if (gap <= MAX_GAP_SECONDS * format.sampleRate) {
          entry.writer.write(Buffer.alloc(gap * frameBytes));
          entry.frames += gap;
          entry.gapFrames += gap;
        }
      }
      if (msg.payload.length > 0) {
        entry.writer.write(msg.payload);
        entry.frames += msg.payload.length / frameBytes;
      }
      if (audio.final) {
        close(entry, send, String(audio.reason ?? 'stopped')).then(() => done(), done);
      } else {
        done();
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      // Nodes close together: the recording's last chunks and final message (tap-source
      // flushes them when it closes) may still be on their way. Take them for a moment, then
      // finalize whatever is still open.
      closing = true;
      const finish = () => {
        const pending = [...files.values()].map((entry) => close(entry, (msg) => node.send(msg), 'closed'));
        Promise.all(pending).then(
          () => {
            node.status({});
            done();
          },
          () => done(),
        );
      };
      const started = Date.now();
      const wait = () => (files.size === 0 || Date.now() - started >= CLOSE_GRACE_MS ? finish() : setTimeout(wait, 20));
      wait();
    });
  }

  RED.nodes.registerType('wav-sink', WavSinkNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

/**
 * wav-sink: writes the PCM messages of each recording (msg.audio.recordingId) to a WAV file
 * with src/wav (a bounded write queue, size fields rewritten about once a second, RF64 past
 * 4 GiB, optional rotation into parts), and finalizes it when the recording ends
 * (msg.audio.final), on redeploy and on shutdown.
 *
 * Input:  PCM messages as tap-source sends them; msg.filename (optional) names the file of a
 *         recording when its first message arrives.
 * Output: one message per finished recording: msg.payload {path, requestedPath, recordingId,
 *         frames, seconds, bytes, parts, sampleRate, channels, bitDepth, encoding, gapFrames,
 *         droppedFrames, startPosition, reason}, msg.filename = path. A recording whose file
 *         failed is reported once by node.error (catchable) instead.
 *
 * Files are never truncated or shared: each is created exclusively, and a name that exists or
 * that another recording of this process holds gets a numbered suffix (talk-1.wav).
 */
import path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AudioFormat, AudioInfo, bitDepth, bytesPerFrame, sameFormat, TrackInfo, trackPcm } from '../../src/format';
import { PcmChunk, PcmMessageError, readPcmMessage } from '../../src/node-red/pcm-message';
import { asNumber } from '../../src/numbers';
import { expandFilename, FileNamer, resolveInside } from '../../src/wav/names';
import { Timeline } from '../../src/wav/timeline';
import { WavPart, WavWriter, WavWriterResult } from '../../src/wav/writer';

interface WavSinkDef extends NodeDef {
  directory: string;
  filename: string;
  /** Start a new part every N minutes; 0 or '' = no rotation by time. */
  rotateMinutes?: number | string;
  /** Start a new part before a file passes N MiB (header included); 0 or '' = no rotation by size. */
  rotateMiB?: number | string;
  /** Largest jump in msg.audio.position filled with silence, seconds; '' = 10. */
  maxGap?: number | string;
  /** A multitrack recording (msg.audio.tracks): a file per track instead of one multichannel file. */
  perTrack?: boolean;
}

/** Files open at once (one per concurrent recording): memory and descriptors stay bounded. */
const MAX_OPEN_FILES = 16;
/** Failed recordings remembered (so their later chunks do not start new files). */
const MAX_FAILED = 64;
const DEFAULT_MAX_GAP_SECONDS = 10;
const MIB = 1024 * 1024;
const PCM_KEYS = new Set(['_msgid', 'payload', 'audio', 'format', 'rate', 'bits', 'channels', 'encoding', 'filename']);

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Reads a numeric node option as every node of this package does (src/numbers.ts: a number,
 * or a decimal string as forms give it); '' or undefined gives `fallback`.
 * @throws RangeError naming the option when the value is anything else or outside min..max.
 */
export function numericOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = asNumber(value);
  if (n === undefined || n < min || n > max) {
    throw new RangeError(`${name}: expected a number from ${min} to ${max} (as 15 or 0.5), got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * msg.audio.tracks of a multitrack message, checked against its format: tracks side by side,
 * covering its channels.
 * @throws RangeError (status 'format') saying what does not fit.
 */
function checkTracks(tracks: unknown[], format: AudioFormat): TrackInfo[] {
  let next = 0;
  const checked = tracks.map((value, i) => {
    const t = value as Partial<TrackInfo>;
    if (!t || !Number.isInteger(t.channels) || t.channels! < 1 || t.firstChannel !== next) {
      throw Object.assign(new RangeError(`msg.audio.tracks[${i}]: expected {index, name, firstChannel: ${next}, channels}, got ${JSON.stringify(value)}`), { status: 'format' });
    }
    next += t.channels!;
    return { index: i, name: typeof t.name === 'string' && t.name ? t.name : `track${i + 1}`, firstChannel: t.firstChannel!, channels: t.channels! };
  });
  if (next !== format.channels) {
    throw Object.assign(new RangeError(`msg.audio.tracks: ${next} channels in all, but the message has ${format.channels}`), { status: 'format' });
  }
  return checked;
}

/** Rotation limits: 0 (off) or at least `min`. */
function limitOption(name: string, value: unknown, min: number, max: number): number {
  const n = numericOption(name, value, 0, 0, max);
  if (n !== 0 && n < min) throw new RangeError(`${name}: expected 0 (off) or ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

interface Recording {
  id: string;
  format: AudioFormat;
  frameBytes: number;
  namer: FileNamer;
  writer: WavWriter;
  timeline: Timeline;
  /** Silence inserted for jumps in position, frames. */
  gapFrames: number;
  /** Position (frames) of the file's first frame, when the first message had one. */
  startPosition?: number;
  extras: Record<string, unknown>;
  warned: Set<string>;
  /** The recording's file failed: reported, its later chunks are ignored. */
  failed: boolean;
  /** A file of one track of a multitrack recording (perTrack). */
  track?: { index: number; name: string };
}

module.exports = function (RED: NodeAPI) {
  function WavSinkNode(this: Node, config: WavSinkDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir ?? process.cwd();
    const directory = path.resolve(userDir, config.directory || 'recordings');
    const pattern = config.filename || '{app}-{timestamp}.wav';
    let rotateMinutes = 0;
    let rotateMiB = 0;
    let maxGapSeconds = DEFAULT_MAX_GAP_SECONDS;
    let configError: Error | undefined;
    try {
      rotateMinutes = limitOption('rotate every (minutes)', config.rotateMinutes, 0.01, 1e6);
      rotateMiB = limitOption('rotate at (MiB)', config.rotateMiB, 0.01, 1e9);
      maxGapSeconds = numericOption('fill gaps up to (seconds)', config.maxGap, DEFAULT_MAX_GAP_SECONDS, 0, 3600);
    } catch (error) {
      configError = error as Error;
      node.error(RED._('wav-sink.errors.config', { error: configError.message }));
    }
    const rotating = rotateMinutes > 0 || rotateMiB > 0;
    const perTrack = config.perTrack === true;
    const recordings = new Map<string, Recording>();
    let closing = false;
    /** A red status (an i18n key) that stays until the next recording starts. */
    let sticky: string | undefined;

    function live(): number {
      let n = 0;
      for (const rec of recordings.values()) if (!rec.failed) n++;
      return n;
    }

    function showStatus() {
      if (configError) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('wav-sink.status.config') });
      } else if (sticky) {
        node.status({ fill: 'red', shape: 'ring', text: RED._(`wav-sink.status.${sticky}`) });
      } else if (live() > 0) {
        node.status({ fill: 'green', shape: 'dot', text: RED._('wav-sink.status.writing', { count: live() }) });
      } else {
        node.status({});
      }
    }
    showStatus();

    function warnOnce(rec: Recording, key: string, values: Record<string, unknown>) {
      if (rec.warned.has(key)) return;
      rec.warned.add(key);
      node.warn(RED._(`wav-sink.warnings.${key}`, { id: rec.id, path: rec.namer.requestedPath, ...values }));
    }

    function summary(rec: Recording, result: Pick<WavWriterResult, 'parts' | 'frames' | 'bytes' | 'droppedFrames'>, reason: string) {
      const parts = result.parts.map((p) => p.path);
      return {
        path: parts[0] ?? rec.namer.requestedPath,
        requestedPath: rec.namer.requestedPath,
        recordingId: rec.id,
        frames: result.frames,
        seconds: result.frames / rec.format.sampleRate,
        bytes: result.bytes,
        parts,
        sampleRate: rec.format.sampleRate,
        channels: rec.format.channels,
        bitDepth: bitDepth(rec.format.encoding),
        encoding: rec.format.encoding,
        gapFrames: rec.gapFrames,
        droppedFrames: result.droppedFrames,
        ...(rec.startPosition !== undefined ? { startPosition: rec.startPosition } : {}),
        ...(rec.track ? { track: rec.track } : {}),
        reason,
      };
    }

    /** The file failed: one error (catchable, with the recording's first message's properties). */
    function failed(rec: Recording, error: Error & { code?: string }, parts: WavPart[]) {
      rec.failed = true;
      const frames = parts.reduce((n, p) => n + p.frames, 0);
      const kept = parts.length > 0
        ? `; ${parts.map((p) => p.path).join(', ')} finalized with the ${(frames / rec.format.sampleRate).toFixed(2)} s written before`
        : '; no file was written';
      sticky = error.code === 'ENOSPC' || error.code === 'EDQUOT' ? 'diskFull' : error.code === 'EOUTSIDE' ? 'outside' : error.code === 'EACCES' || error.code === 'EPERM' ? 'denied' : 'writeFailed';
      const payload = summary(rec, { parts, frames, bytes: frames * rec.frameBytes, droppedFrames: rec.writer.droppedFrames }, 'error');
      node.error(`${error.message}${kept}`, { ...rec.extras, filename: payload.path, payload } as NodeMessage);
      showStatus();
      // Keep a bounded number of failed recordings; their later chunks are ignored meanwhile.
      const dead = [...recordings.values()].filter((r) => r.failed);
      for (const old of dead.slice(0, Math.max(0, dead.length - MAX_FAILED))) recordings.delete(old.id);
    }

    function start(msg: Msg, audio: Partial<AudioInfo>, id: string, format: AudioFormat, track?: TrackInfo): Recording {
      if (live() >= MAX_OPEN_FILES) {
        throw Object.assign(new Error(`${MAX_OPEN_FILES} files are open already; end a recording before starting another`), { status: 'busy' });
      }
      if (msg.filename !== undefined && typeof msg.filename !== 'string') {
        throw new TypeError(`msg.filename: expected a string, got ${typeof msg.filename}`);
      }
      const requested = typeof msg.filename === 'string' && msg.filename !== '' ? msg.filename : pattern;
      const name = expandFilename(
        requested,
        {
          app: audio.source ?? (typeof msg.topic === 'string' && msg.topic ? msg.topic : 'audio'),
          topic: typeof msg.topic === 'string' ? msg.topic : '',
          recordingId: id,
          now: new Date(),
          ...(track ? { track: track.name } : {}),
        },
        rotating,
      );
      const namer = new FileNamer(directory, resolveInside(directory, name));
      const extras: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(msg)) {
        if (!PCM_KEYS.has(key)) extras[key] = value;
      }
      let writer: WavWriter;
      const rec = { id, format, frameBytes: bytesPerFrame(format), namer, gapFrames: 0, extras, warned: new Set<string>(), failed: false } as Recording;
      if (track) rec.track = { index: track.index, name: track.name };
      try {
        writer = new WavWriter({
          format,
          createPart: (part) => namer.create(part),
          partFrames: rotateMinutes > 0 ? Math.round(rotateMinutes * 60 * format.sampleRate) : Infinity,
          partFileBytes: rotateMiB > 0 ? Math.floor(rotateMiB * MIB) : Infinity,
          onPartClosed: (part) => node.log(RED._('wav-sink.log.closed', { path: part.path, seconds: (part.frames / format.sampleRate).toFixed(3) })),
          onError: (error, parts) => failed(rec, error, parts),
        });
      } catch (error) {
        namer.releaseAll();
        throw error;
      }
      rec.writer = writer;
      rec.timeline = new Timeline(Math.round(maxGapSeconds * format.sampleRate));
      if (typeof audio.position === 'number' && Number.isSafeInteger(audio.position) && audio.position >= 0) rec.startPosition = audio.position;
      recordings.set(id, rec);
      sticky = undefined;
      showStatus();
      return rec;
    }

    /** Ends a recording: drains and finalizes its file, sends its details (unless it failed). */
    async function finish(rec: Recording, reason: string, send: (msg: NodeMessage) => void): Promise<void> {
      if (recordings.get(rec.id) === rec) recordings.delete(rec.id);
      const result = await rec.writer.close();
      rec.namer.releaseAll();
      showStatus();
      if (result.error || rec.failed || result.parts.length === 0) return; // reported once by failed()
      const payload = summary(rec, result, reason);
      send({ ...rec.extras, filename: payload.path, payload } as NodeMessage);
    }

    /**
     * Writes one chunk to its recording's file (starting the file on its first chunk, finishing
     * it on the final message). `track`: the chunk is one track's of a multitrack recording.
     * @throws Error with `status` (an i18n key of the red status) when the chunk is refused.
     */
    function write(msg: Msg, audio: Partial<AudioInfo>, id: string, pcm: PcmChunk, send: (msg: NodeMessage) => void, track?: TrackInfo): Promise<void> | undefined {
      const { payload, format, frames } = pcm;
      let rec = recordings.get(id);
      if (rec && !sameFormat(rec.format, format)) {
        const want = `${rec.format.sampleRate} Hz ${rec.format.channels} ch ${rec.format.encoding}`;
        const got = `${format.sampleRate} Hz ${format.channels} ch ${format.encoding}`;
        throw Object.assign(new Error(`chunk format ${got} differs from the open file's ${want} (${rec.namer.requestedPath}); the chunk was not written`), { status: 'changed' });
      }
      if (!rec) {
        // Nothing to write (an empty chunk, or the final message of a recording this node has
        // no file of, as after a partial redeploy): no file.
        if (frames === 0) return undefined;
        try {
          rec = start(msg, audio, id, format, track);
        } catch (error) {
          throw Object.assign(error as Error, { status: (error as { status?: string }).status ?? 'filename' });
        }
      }
      // A final message's position is the end of the timeline: chunks dropped just before the
      // end are a jump like any other.
      if ((frames > 0 || audio.final) && !rec.failed) {
        const place = rec.timeline.place(audio.position, frames);
        if (place.fill > 0) {
          rec.writer.writeSilence(place.fill);
          rec.gapFrames += place.fill;
        }
        const rate = format.sampleRate;
        if (place.skipped > 0) {
          warnOnce(rec, 'gap', { seconds: (place.skipped / rate).toFixed(3), limit: maxGapSeconds, position: audio.position });
        }
        if (place.back > 0) warnOnce(rec, 'back', { frames: place.back, position: audio.position });
        if (frames > 0 && rec.writer.write(payload) === 'dropped') warnOnce(rec, 'dropped', {});
      }
      return audio.final ? finish(rec, String(audio.reason ?? 'stopped'), send) : undefined;
    }

    node.on('input', (msg: Msg, send, done) => {
      const fail = (status: string, error: Error) => {
        node.status({ fill: 'red', shape: 'ring', text: RED._(`wav-sink.status.${status}`) });
        done(error);
      };
      if (configError) return fail('config', configError);
      let pcm: PcmChunk;
      try {
        pcm = readPcmMessage(msg);
      } catch (error) {
        return fail((error as PcmMessageError).refusal, error as Error);
      }
      const audio = (msg.audio ?? {}) as Partial<AudioInfo>;
      const id = typeof audio.recordingId === 'string' && audio.recordingId ? audio.recordingId : `topic:${String(msg.topic ?? '')}`;
      if (closing) return done(); // the flow is stopping: no new files, open ones are finalizing
      const finishing: Array<Promise<void>> = [];
      try {
        const tracks = perTrack && Array.isArray(audio.tracks) ? checkTracks(audio.tracks, pcm.format) : undefined;
        if (tracks) {
          // A file per track: each track's channels, as a recording of its own.
          for (const track of tracks) {
            const format = { ...pcm.format, channels: track.channels };
            const one: PcmChunk = { payload: trackPcm(pcm.payload, pcm.format, track), format, frames: pcm.frames };
            const done = write(msg, { ...audio, channels: track.channels }, `${id}-track${track.index + 1}`, one, send, track);
            if (done) finishing.push(done);
          }
        } else {
          const done = write(msg, audio, id, pcm, send);
          if (done) finishing.push(done);
        }
      } catch (error) {
        return fail((error as { status?: string }).status ?? 'filename', error as Error);
      }
      if (finishing.length === 0) return done();
      Promise.all(finishing).then(() => done(), done);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      // Finalize every open file now. On a full redeploy nothing can still arrive; on a partial
      // one, a tap-source that stays sends its final message to the new instance, which has no
      // file for it and ignores it.
      closing = true;
      const open = [...recordings.values()];
      Promise.all(open.map((rec) => finish(rec, 'closed', (msg) => node.send(msg)))).then(
        () => {
          recordings.clear();
          node.status({});
          done();
        },
        () => done(),
      );
    });
  }

  RED.nodes.registerType('wav-sink', WavSinkNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

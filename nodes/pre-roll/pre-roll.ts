/**
 * pre-roll: keeps the last N seconds of the PCM stream that passes through it (a recording that
 * tap-source runs from deploy) and, when a trigger message arrives, sends a recording that
 * begins N s before the trigger: the kept audio first, then the live audio, for `after` s past
 * the trigger (msg.duration overrides; 0: until a "stop"). "Save the last 30 s when a message
 * arrives."
 *
 * Input:  PCM messages (msg.payload Buffer + msg.audio, as tap-source sends), any format: kept,
 *         not passed on. Any other message is a command: payload "stop" (or false) ends the
 *         recordings being sent; anything else is a trigger that starts one, and its properties
 *         (filename, an HTTP request's req/res, an MQTT correlation) ride along on each of its
 *         messages. Triggers that overlap give overlapping recordings, each whole and with its
 *         own recordingId: every request gets its own file.
 * Output: the PCM messages of each triggered recording: the kept part as one message (per
 *         stretch without a gap), then the live chunks; msg.audio.recordingId its own,
 *         positions on the source's timeline (continuous from the kept part into the live one,
 *         so wav-sink writes exactly the frames the source had there), the last one with an
 *         empty payload and audio.final = true, reason 'stopped' (its length reached, a stop,
 *         a redeploy) or the source recording's own reason when that ended first.
 * Memory: at most N s of audio plus one chunk per source (PcmHistory), shown in the status.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AudioFormat, bytesPerFrame, pcmFields } from '../../src/format';
import { asNumber, settingNumber } from '../../src/numbers';
import { readPcmMessage, isPcmRefusal } from '../../src/node-red/pcm-message';
import { HistoryChunk, PcmHistory } from './history';

interface PreRollDef extends NodeDef {
  /** Seconds kept before a trigger. */
  seconds: string | number;
  /** Seconds recorded after a trigger (0: until a "stop"). */
  after: string | number;
}

type Msg = NodeMessage & Record<string, unknown>;

export const DEFAULT_PREROLL_SECONDS = 30;
export const DEFAULT_AFTER_SECONDS = 10;
export const MAX_PREROLL_SECONDS = 3600;

/** Properties of a trigger that are its command, not what rides along. */
const COMMAND_KEYS = new Set(['_msgid', 'payload', 'duration', 'topic']);

/** The source recording being kept. */
interface Source {
  id: string;
  format: AudioFormat;
  history: PcmHistory;
  topic: unknown;
  text: string | undefined;
}

/** A recording a trigger started. */
interface Take {
  id: string;
  extras: Record<string, unknown>;
  topic: unknown;
  /** Timeline position where it ends (Infinity: at a stop). */
  end: number;
}

/** Chunks joined into one copy per stretch of contiguous positions. */
function contiguous(chunks: HistoryChunk[]): HistoryChunk[] {
  const runs: HistoryChunk[][] = [];
  for (const chunk of chunks) {
    const run = runs[runs.length - 1];
    const last = run?.[run.length - 1];
    if (last && last.position + last.frames === chunk.position) {
      run.push(chunk);
    } else {
      runs.push([chunk]);
    }
  }
  return runs.map((run) => ({
    data: Buffer.concat(run.map((c) => c.data)),
    position: run[0].position,
    frames: run.reduce((sum, c) => sum + c.frames, 0),
  }));
}

module.exports = function (RED: NodeAPI) {
  function PreRollNode(this: Node, config: PreRollDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = (key: string, values?: Record<string, string | number>) => RED._(`pre-roll.${key}`, values);
    let seconds = DEFAULT_PREROLL_SECONDS;
    let after = DEFAULT_AFTER_SECONDS;
    let configError: Error | undefined;
    try {
      seconds = settingNumber(config.seconds, DEFAULT_PREROLL_SECONDS, 'pre-roll', `seconds above 0, at most ${MAX_PREROLL_SECONDS}`);
      if (!(seconds > 0 && seconds <= MAX_PREROLL_SECONDS)) {
        throw new RangeError(`pre-roll: expected seconds above 0, at most ${MAX_PREROLL_SECONDS}, got ${seconds}`);
      }
      after = settingNumber(config.after, DEFAULT_AFTER_SECONDS, 'after', 'seconds (0: until "stop")');
      if (!(after >= 0 && after <= 86400)) throw new RangeError(`after: expected seconds from 0 (until "stop") to 86400, got ${after}`);
    } catch (error) {
      configError = error as Error;
    }

    let source: Source | undefined;
    const takes = new Map<string, Take>();
    let lastStatus = 0;

    function showStatus(force = false): void {
      const now = Date.now();
      if (!force && now - lastStatus < 1000) return;
      lastStatus = now;
      if (configError) {
        node.status({ fill: 'red', shape: 'ring', text: t('status.config') });
      } else if (!source) {
        node.status({ fill: 'grey', shape: 'ring', text: t('status.noAudio') });
      } else {
        const kept = (source.history.frames / source.format.sampleRate).toFixed(1);
        const mb = (source.history.bytes / 1048576).toFixed(1);
        node.status(
          takes.size > 0
            ? { fill: 'green', shape: 'dot', text: t('status.saving', { kept, mb, count: takes.size }) }
            : { fill: 'green', shape: 'ring', text: t('status.kept', { kept, mb }) },
        );
      }
    }
    showStatus(true);

    /**
     * Sends the part of `chunk` before the take's end; ends the take when it reaches it.
     * `owned`: chunk.data is a copy made for this take (else it is copied here).
     */
    function sendTo(take: Take, chunk: HistoryChunk, from: Source, owned = false): void {
      if (chunk.position >= take.end) return finish(take, from, take.end, 'stopped');
      let data = chunk.data;
      let frames = chunk.frames;
      if (chunk.position + frames > take.end) {
        frames = take.end - chunk.position;
        data = data.subarray(0, frames * bytesPerFrame(from.format));
      }
      // A copy: a node downstream (eq) may process it in place, and the history keeps it.
      node.send({
        ...take.extras,
        topic: take.topic,
        payload: owned ? data : Buffer.from(data),
        ...pcmFields(from.format, take.id, chunk.position, from.text),
      } as Msg);
      if (chunk.position + frames >= take.end) finish(take, from, take.end, 'stopped');
    }

    /** The last message of a take, at `position` (the end of its timeline). */
    function finish(take: Take, from: Source, position: number, reason: string): void {
      if (!takes.delete(take.id)) return;
      const fields = pcmFields(from.format, take.id, position, from.text);
      node.send({
        ...take.extras,
        topic: take.topic,
        payload: Buffer.alloc(0),
        ...fields,
        audio: { ...fields.audio, final: true, reason },
      } as Msg);
      showStatus(true);
    }

    function finishAll(reason: string, position?: number): void {
      if (!source) return;
      const from = source;
      const at = position ?? from.history.end ?? 0;
      for (const take of [...takes.values()]) finish(take, from, Math.min(at, take.end), reason);
    }

    function onPcm(msg: Msg): void {
      const chunk = readPcmMessage(msg);
      const audio = (msg.audio ?? {}) as Record<string, unknown>;
      const id = typeof audio.recordingId === 'string' && audio.recordingId ? audio.recordingId : `topic:${String(msg.topic ?? '')}`;
      const position = Number.isSafeInteger(audio.position) && (audio.position as number) >= 0 ? (audio.position as number) : undefined;
      const f = chunk.format;
      if (!source || source.id !== id || source.format.sampleRate !== f.sampleRate || source.format.channels !== f.channels || source.format.encoding !== f.encoding) {
        // Another recording (or format): what was kept belongs to the old one.
        finishAll('stopped');
        source = {
          id,
          format: f,
          history: new PcmHistory(Math.max(1, Math.round(seconds * f.sampleRate))),
          topic: msg.topic,
          text: typeof audio.source === 'string' ? audio.source : undefined,
        };
      }
      const from = source;
      if (audio.final === true) {
        // The source recording ended: so do the takes, with its reason; nothing more is kept.
        finishAll(typeof audio.reason === 'string' ? audio.reason : 'stopped', position ?? from.history.end);
        source = undefined;
        showStatus(true);
        return;
      }
      if (chunk.frames === 0) return;
      const kept: HistoryChunk = { data: chunk.payload, position: position ?? from.history.end ?? 0, frames: chunk.frames };
      from.history.push(kept);
      for (const take of [...takes.values()]) sendTo(take, kept, from);
      showStatus();
    }

    function onCommand(msg: Msg): void {
      if (msg.payload === 'stop' || msg.payload === false) {
        finishAll('stopped');
        return;
      }
      let duration = after;
      if (msg.duration !== undefined) {
        const given = asNumber(msg.duration);
        if (given === undefined || given < 0) {
          throw new TypeError(`msg.duration: expected seconds after the trigger (0: until "stop"), got ${JSON.stringify(msg.duration)}`);
        }
        duration = given;
      }
      const from = source;
      const edge = from?.history.end;
      if (!from || edge === undefined) {
        const error = new Error(
          'nothing kept yet: pre-roll keeps the audio that passes through it; start the tap source first (Start on deploy), then trigger',
        ) as Error & { code: string };
        error.code = 'ENOAUDIO';
        throw error;
      }
      const extras: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(msg)) {
        if (!COMMAND_KEYS.has(key)) extras[key] = value;
      }
      const take: Take = {
        id: RED.util.generateId(),
        extras,
        topic: typeof msg.topic === 'string' && msg.topic ? msg.topic : from.topic,
        end: duration > 0 ? edge + Math.max(1, Math.round(duration * from.format.sampleRate)) : Infinity,
      };
      takes.set(take.id, take);
      // The kept audio from N s before the trigger (or all of it, when less is kept yet), as one
      // message per stretch without a gap (one, unless chunks were dropped upstream): a burst
      // of N s of small messages would overflow a wav sink's write queue (5 s), while one
      // message is taken whole by a queue that is empty, as a new recording's is.
      const start = edge - from.history.capacityFrames;
      for (const run of contiguous(from.history.since(start))) sendTo(take, run, from, true);
      showStatus(true);
    }

    node.on('input', (msg: Msg, _send, done) => {
      if (configError) {
        showStatus(true);
        return done(new Error(`pre-roll settings: ${configError.message}`));
      }
      try {
        if (Buffer.isBuffer(msg.payload)) {
          onPcm(msg);
        } else {
          onCommand(msg);
        }
        done();
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: t(isPcmRefusal(error) ? `status.${error.refusal}` : 'status.command') });
        done(error as Error);
      }
    });

    node.on('close', (done: () => void) => {
      // The recordings being sent end here: wav-sink finalizes their files.
      finishAll('stopped');
      source = undefined;
      done();
    });
  }
  RED.nodes.registerType('pre-roll', PreRollNode);
};

/**
 * WavWriter: one recording written to WAV files — a bounded write queue in front of
 * src/wav/file.ts, optional rotation into parts, and failure handling that never loses what is
 * on disk and never hangs a close.
 *
 * - Memory: chunks wait in a queue bounded in bytes (default: 5 s of audio or 16 MiB, whichever
 *   is more; defaultQueueBytes). When the disk falls
 *   behind and a chunk does not fit, it is dropped and counted (droppedFrames); its frames are
 *   written as silence once the disk catches up, so the file keeps the recording's timeline. A
 *   chunk larger than the bound is taken when the queue is empty (it is in memory already).
 * - Header: the size fields are rewritten in place whenever half a second of audio or one
 *   second of time has gone by since the last rewrite (while more data waits in the queue, as
 *   behind a source faster than real time, only by time), when the writer goes idle (after at
 *   most a second) and at close; after a SIGKILL a reader finds the length as of that rewrite.
 * - Writes: the data chunks queued while a write ran go to the disk in the next one together
 *   (writev), and a gap of silence is a few writes of a shared block of zeros.
 *   Past the RIFF limit the header turns into RF64 in place (src/wav/header.ts).
 * - Rotation: with a part limit (frames and/or file bytes), a chunk crossing the limit is split
 *   at the exact frame; every part is a complete WAV file. A part starts only when a frame
 *   goes into it, so there is no empty last part.
 * - Failure: the first error (create, write, header, close) ends the recording's file: what is
 *   on disk is finalized (a partial frame cut off, header rewritten, descriptor closed), the
 *   error is reported once through `onError`, and later writes are ignored.
 */
import { AudioFormat } from '../format';
import { needsRf64, WavLayout, wavLayout } from './header';
import { WavFile } from './file';

/** One finished file of a recording. */
export interface WavPart {
  /** 1, 2, …: the part's number. */
  part: number;
  /** Absolute path. */
  path: string;
  /** Frames in its data chunk. */
  frames: number;
  /** Bytes in its data chunk (frames × bytes per frame). */
  bytes: number;
  /** Bytes of the whole file (header + data). */
  fileBytes: number;
  /** True when the file ended larger than RIFF can say, with an RF64 header. */
  rf64: boolean;
}

export interface WavWriterOptions {
  format: AudioFormat;
  /**
   * Creates the file of part `part` (1-based), exclusively; resolves with an open, writable
   * descriptor (the writer owns it from then on) and the path. src/wav/names.ts FileNamer.create.
   */
  createPart(part: number): Promise<{ fd: number; path: string }>;
  /** Most frames in a part; Infinity (default) for no limit by time. */
  partFrames?: number;
  /** Most bytes of a part's file, header included; Infinity (default) for no limit by size. */
  partFileBytes?: number;
  /** Bound of the write queue, bytes; default defaultQueueBytes(format). */
  queueBytes?: number;
  /** Longest time (ms) the header may lag the data while data comes in; default 1000. */
  headerIntervalMs?: number;
  /** Most audio (seconds) the header may lag the data; default 0.5. */
  headerLagSeconds?: number;
  /** How long close() lets the queue drain (ms) before abandoning what is left; default 10000. */
  closeTimeoutMs?: number;
  /** A part's file was finalized and closed without error. */
  onPartClosed?: (part: WavPart) => void;
  /** The first failure; the recording's file is finalized (best effort) before this is called. */
  onError?: (error: Error, parts: WavPart[]) => void;
}

/** What a closed writer left on disk. */
export interface WavWriterResult {
  /** Every file created, in order (one without rotation; none if creating the first failed). */
  parts: WavPart[];
  /** Frames in all parts. */
  frames: number;
  /** Data bytes in all parts. */
  bytes: number;
  /** Frames the queue could not hold (written as silence), or abandoned by a close timeout. */
  droppedFrames: number;
  /** The failure that ended the file, if any. */
  error?: Error;
}

type Op = { kind: 'data'; chunk: Buffer } | { kind: 'silence'; frames: number } | { kind: 'rotate' } | { kind: 'header' };



/** Default bound of the write queue, in seconds of audio... */
export const DEFAULT_QUEUE_SECONDS = 5;
/** ...or in bytes, whichever is more. */
export const DEFAULT_QUEUE_FLOOR_BYTES = 16 * 2 ** 20;

/**
 * The default bound of a recording's write queue, bytes: 5 s of audio (a disk stall a live
 * recording rides out), or 16 MiB when that is more. A flow that processes a file flat out sends
 * audio hundreds of times faster than real time, where 5 s of 48 kHz stereo 16-bit (0.94 MiB)
 * lasts under 10 ms of wall time at 500x, less than one slow write; 16 MiB lasts about 170 ms
 * there. At most 16 MiB per recording, and only while the disk is behind.
 */
export function defaultQueueBytes(format: AudioFormat): number {
  return Math.max(DEFAULT_QUEUE_SECONDS * format.sampleRate * wavLayout(format).frameBytes, DEFAULT_QUEUE_FLOOR_BYTES);
}
/** Extra time close() waits for a write stuck in the kernel before giving up on it, ms. */
const STUCK_GRACE_MS = 2000;

export class WavWriter {
  readonly format: AudioFormat;
  readonly layout: WavLayout;
  /** Frames per part (Infinity: no rotation). */
  readonly partLimit: number;
  /** Bound of the write queue, bytes. */
  readonly queueLimit: number;
  private readonly options: WavWriterOptions;
  private readonly headerIntervalMs: number;
  private readonly headerLagBytes: number;
  private readonly closeTimeoutMs: number;

  private queue: Op[] = [];
  private queuedBytes = 0;
  /** Frames accepted (data, silence, dropped) = the writer's timeline. */
  private accepted = 0;
  /** Timeline frame where the part being queued into starts. */
  private partStart = 0;
  private file?: WavFile;
  private part = 1;
  private readonly parts: WavPart[] = [];
  private dropped = 0;
  private failure?: Error;
  private closing = false;
  private abandon = false;
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private headerTimer?: NodeJS.Timeout;
  private closed?: Promise<WavWriterResult>;

  /** @throws RangeError when the part limits leave no room for one frame. */
  constructor(options: WavWriterOptions) {
    this.options = options;
    this.format = options.format;
    this.layout = wavLayout(options.format);
    const fb = this.layout.frameBytes;
    const byFrames = options.partFrames ?? Infinity;
    const byBytes = options.partFileBytes === undefined || options.partFileBytes === Infinity ? Infinity : Math.floor((options.partFileBytes - this.layout.headerBytes) / fb);
    this.partLimit = Math.min(Math.floor(byFrames), byBytes);
    if (!(this.partLimit >= 1)) {
      throw new RangeError(`part limit: ${options.partFrames ?? '∞'} frames / ${options.partFileBytes ?? '∞'} bytes leaves no room for a frame after the ${this.layout.headerBytes}-byte header`);
    }
    this.queueLimit = options.queueBytes ?? defaultQueueBytes(options.format);
    this.headerIntervalMs = options.headerIntervalMs ?? 1000;
    this.headerLagBytes = Math.max(fb, Math.round((options.headerLagSeconds ?? 0.5) * this.format.sampleRate) * fb);
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10000;
  }

  /** The failure that ended the file, once there is one. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Frames taken so far (written, queued, or dropped and to be written as silence). */
  get frames(): number {
    return this.accepted;
  }

  /** Frames dropped for a full queue so far. */
  get droppedFrames(): number {
    return this.dropped;
  }

  /** Bytes waiting in the queue. */
  get queuedBytesNow(): number {
    return this.queuedBytes;
  }

  /**
   * Queues interleaved PCM (whole frames) after everything taken before.
   * @returns 'queued'; 'dropped' when the queue was full (counted, written as silence later);
   *   'ignored' after a failure or close (not counted).
   * @throws RangeError when the chunk is not whole frames.
   */
  write(chunk: Buffer): 'queued' | 'dropped' | 'ignored' {
    const fb = this.layout.frameBytes;
    if (chunk.length % fb !== 0) throw new RangeError(`chunk: ${chunk.length} bytes is not a whole number of ${fb}-byte frames`);
    if (this.failure || this.closing) return 'ignored';
    const frames = chunk.length / fb;
    if (frames === 0) return 'queued';
    if (this.queuedBytes > 0 && this.queuedBytes + chunk.length > this.queueLimit) {
      this.dropped += frames;
      this.push(frames);
      this.kick();
      return 'dropped';
    }
    this.push(frames, chunk);
    this.kick();
    return 'queued';
  }

  /** Queues `frames` frames of silence (a gap in the timeline); no memory is held for them. */
  writeSilence(frames: number): void {
    if (this.failure || this.closing || !(frames > 0)) return;
    this.push(Math.floor(frames));
    this.kick();
  }

  /** Adds frames to the queue, split where a part ends. */
  private push(frames: number, chunk?: Buffer): void {
    const fb = this.layout.frameBytes;
    let at = 0;
    while (at < frames) {
      if (this.accepted - this.partStart >= this.partLimit) {
        this.queue.push({ kind: 'rotate' });
        this.partStart = this.accepted;
      }
      const take = Math.min(frames - at, this.partLimit - (this.accepted - this.partStart));
      if (chunk) {
        const piece = take === frames ? chunk : chunk.subarray(at * fb, (at + take) * fb);
        this.queue.push({ kind: 'data', chunk: piece });
        this.queuedBytes += piece.length;
      } else {
        const last = this.queue[this.queue.length - 1];
        if (last?.kind === 'silence') last.frames += take;
        else this.queue.push({ kind: 'silence', frames: take });
      }
      at += take;
      this.accepted += take;
    }
  }

  private kick(): void {
    if (!this.running) void this.pump();
  }

  /** Runs the queue, one operation at a time, until it is empty or the file failed. */
  private async pump(): Promise<void> {
    this.running = true;
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const op = this.queue.shift()!;
        if (op.kind === 'data') this.queuedBytes -= op.chunk.length;
        if (this.abandon) {
          if (op.kind === 'data') this.dropped += op.chunk.length / this.layout.frameBytes;
          continue;
        }
        await this.run(op);
      }
    } catch (error) {
      await this.fail(error as Error);
    }
    if (this.failure && this.file) {
      // A write that close() gave up on came back at last: close the file as it is.
      const file = this.file;
      this.file = undefined;
      await file.close().catch(() => undefined);
    }
    this.running = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.scheduleHeader();
  }

  /**
   * `first` and every data chunk queued right behind it: what queued up while the previous
   * write ran goes to the disk in one write (writev), not one system call per message, and the
   * queue empties at every turn (it is bounded by queueLimit, so the batch is too).
   */
  private takeBatch(first: Buffer): Buffer[] {
    const chunks = [first];
    while (this.queue.length > 0 && this.queue[0].kind === 'data') {
      const next = (this.queue.shift() as { chunk: Buffer }).chunk;
      this.queuedBytes -= next.length;
      chunks.push(next);
    }
    return chunks;
  }

  private async runData(chunks: Buffer[]): Promise<void> {
    const file = await this.openPart();
    await file.append(chunks);
    await this.maybeWriteHeader(file);
  }

  /** The part being written, created (with its header) when its first frame comes. */
  private async openPart(): Promise<WavFile> {
    if (!this.file) {
      const { fd, path } = await this.options.createPart(this.part);
      this.file = await WavFile.open(fd, path, this.format);
    }
    return this.file;
  }

  /**
   * Rewrites the header once enough audio or time went by since it was last written. While
   * more data waits (a writer catching up with a source faster than real time), only once the
   * time has: a header write is a round trip the queue would wait for.
   */
  private async maybeWriteHeader(file: WavFile): Promise<void> {
    const lag = file.headerLagBytes;
    if (lag <= 0) return;
    const old = file.headerAgeMs >= this.headerIntervalMs;
    if (old || (lag >= this.headerLagBytes && this.queuedBytes === 0)) await file.writeHeader();
  }

  private async run(op: Op): Promise<void> {
    if (op.kind === 'rotate') {
      await this.closePart();
      this.part++;
      return;
    }
    if (op.kind === 'header') {
      if (this.file && this.file.headerLagBytes > 0) await this.file.writeHeader();
      return;
    }
    if (op.kind === 'data') return this.runData(this.takeBatch(op.chunk));
    const file = await this.openPart();
    await file.appendSilence(op.frames);
    await this.maybeWriteHeader(file);
  }

  /** An idle writer whose header lags gets it rewritten after at most headerIntervalMs. */
  private scheduleHeader(): void {
    const file = this.file;
    if (!file || this.failure || this.closing || file.headerLagBytes <= 0) return;
    this.headerTimer = setTimeout(() => {
      this.headerTimer = undefined;
      this.queue.push({ kind: 'header' });
      this.kick();
    }, Math.max(0, this.headerIntervalMs - file.headerAgeMs));
    this.headerTimer.unref();
  }

  private partInfo(file: WavFile): WavPart {
    return {
      part: this.part,
      path: file.path,
      frames: file.frames,
      bytes: file.dataBytes,
      fileBytes: file.layout.headerBytes + file.dataBytes,
      rf64: needsRf64(file.layout, file.dataBytes),
    };
  }

  /** Finalizes the current part. @throws the file's close error (the part is listed anyway). */
  private async closePart(): Promise<void> {
    const file = this.file;
    if (!file) return;
    this.file = undefined;
    try {
      await file.close();
    } finally {
      this.parts.push(this.partInfo(file));
    }
    this.options.onPartClosed?.(this.parts[this.parts.length - 1]);
  }

  /** The first failure: stop, finalize what is on disk as well as possible, report once. */
  private async fail(error: Error): Promise<void> {
    if (this.failure) return;
    this.failure = error;
    this.queue = [];
    this.queuedBytes = 0;
    const file = this.file;
    if (file) {
      this.file = undefined;
      await file.close().catch(() => undefined);
      this.parts.push(this.partInfo(file));
    }
    this.options.onError?.(error, [...this.parts]);
  }

  /** Resolves when the queue is empty and no write is running (now, or once that is so). */
  drained(): Promise<void> {
    return this.idle();
  }

  private idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Writes what is queued, finalizes the last part and closes it. Takes no more writes. Never
   * rejects: a failure is in the result. If the queue has not drained within closeTimeoutMs
   * (a stalled disk), the rest is abandoned (counted in droppedFrames); a write stuck in the
   * kernel for 2 s more is given up on (the error says so). Calling it again returns the same
   * promise.
   */
  close(): Promise<WavWriterResult> {
    this.closed ??= this.finish();
    return this.closed;
  }

  private async finish(): Promise<WavWriterResult> {
    this.closing = true;
    if (this.headerTimer) clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
    const timers: NodeJS.Timeout[] = [];
    let stuck = false;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timers.push(setTimeout(() => (this.abandon = true), this.closeTimeoutMs));
        timers.push(
          setTimeout(() => {
            stuck = true;
            resolve();
          }, this.closeTimeoutMs + STUCK_GRACE_MS),
        );
      }),
    ]);
    timers.forEach(clearTimeout);
    if (stuck) {
      const where = this.file?.path ?? 'the file';
      const error = new Error(`${where}: a write did not complete within ${(this.closeTimeoutMs + STUCK_GRACE_MS) / 1000} s of closing (the disk stalls); the file is left as the last header rewrite says`);
      for (const op of this.queue) if (op.kind === 'data') this.dropped += op.chunk.length / this.layout.frameBytes;
      this.queue = [];
      this.queuedBytes = 0;
      if (!this.failure) {
        this.failure = error;
        this.options.onError?.(error, [...this.parts]);
      }
    } else if (!this.failure) {
      try {
        await this.closePart();
      } catch (error) {
        await this.fail(error as Error);
      }
    }
    const parts = [...this.parts];
    return {
      parts,
      frames: parts.reduce((n, p) => n + p.frames, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
      droppedFrames: this.dropped,
      ...(this.failure ? { error: this.failure } : {}),
    };
  }
}

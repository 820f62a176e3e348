/**
 * One WAV file over a raw file descriptor: positional writes of data after the header, and the
 * header (src/wav/header.ts) rewritten in place at offset 0 with the size of the data that is
 * on disk. Callers serialize the calls (one at a time); src/wav/writer.ts does.
 *
 * If the process exits (process.exit, an uncaught exception) while files are open, an 'exit'
 * hook rewrites their headers synchronously, so they end with true sizes. After SIGKILL the
 * header says what the last rewrite said.
 */
import fs from 'fs';
import { AudioFormat } from '../format';
import { describeFsError } from './names';
import { WavLayout, wavHeader, wavLayout } from './header';

/** Bytes of the shared block of zeros that silence is written from (64 KiB). */
const ZERO_BLOCK_BYTES = 64 * 1024;
let zeros: Buffer | undefined;
/** Zero blocks one silence write takes at most (16 MiB; writev's limit is 1024 buffers). */
const SILENCE_WRITE_BLOCKS = 256;

/** Files with an open descriptor, for the exit hook. */
const openFiles = new Set<WavFile>();
let exitHook = false;

function writeAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, buffer, offset, length, position, (error, written) => (error ? reject(error) : resolve(written))),
  );
}

/** fs.writev at a position, as a promise of the bytes written (may be short of the total). */
function writevAt(fd: number, buffers: Buffer[], position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.writev(fd, buffers, position, (error, written) => (error ? reject(error) : resolve(written))),
  );
}

/** `buffers` without their first `skip` bytes. */
function after(buffers: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}

function call(fn: (cb: (error: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((error) => (error ? reject(error) : resolve())));
}

export class WavFile {
  readonly path: string;
  readonly layout: WavLayout;
  private fd: number | undefined;
  /** Bytes of data written so far (completed writes; may end in part of a frame after an error). */
  private written = 0;
  /** The data size (bytes) the header on disk states. */
  private stated = 0;
  /** Date.now() of the last header write. */
  private statedAt = 0;

  /**
   * Takes ownership of `fd` (opened for writing on an empty file) and writes the header of an
   * empty file. Use {@link WavFile.open}.
   */
  private constructor(fd: number, file: string, format: AudioFormat) {
    this.fd = fd;
    this.path = file;
    this.layout = wavLayout(format);
    openFiles.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const open of openFiles) open.writeHeaderSync();
      });
    }
  }

  /**
   * A WAV file on `fd` (just created, empty) with the header of no data written.
   * @throws Error (code from the system) when the header cannot be written (a full disk); fd is
   *   closed then and the empty file removed, so no file without a header is left behind.
   */
  static async open(fd: number, file: string, format: AudioFormat): Promise<WavFile> {
    const wav = new WavFile(fd, file, format);
    try {
      await wav.writeHeader();
    } catch (error) {
      await wav.close().catch(() => undefined);
      await fs.promises.unlink(file).catch(() => undefined);
      throw error;
    }
    return wav;
  }

  /** Bytes of whole frames in the data chunk so far. */
  get dataBytes(): number {
    return this.written - (this.written % this.layout.frameBytes);
  }

  /** Frames in the data chunk so far. */
  get frames(): number {
    return Math.floor(this.written / this.layout.frameBytes);
  }

  /** Bytes of data (whole frames) that the header on disk does not state yet. */
  get headerLagBytes(): number {
    return this.dataBytes - this.stated;
  }

  /** Milliseconds since the header was last written. */
  get headerAgeMs(): number {
    return Date.now() - this.statedAt;
  }

  /** True until {@link close}. */
  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  private descriptor(): number {
    if (this.fd === undefined) throw new Error(`${this.path} is closed`);
    return this.fd;
  }

  /**
   * Appends interleaved PCM (whole frames) after the data written so far: `chunks` in order,
   * in one system call when there are several (writev).
   * @throws Error with the system's code (ENOSPC, EIO, …) and the path; what was written before
   *   the error stays counted.
   */
  async append(chunks: Buffer | Buffer[]): Promise<void> {
    const fd = this.descriptor();
    let rest = Array.isArray(chunks) ? chunks.filter((chunk) => chunk.length > 0) : [chunks];
    while (rest.length > 0 && rest[0].length > 0) {
      try {
        // A short write (a disk filling up) is followed by one that fails with the reason.
        const position = this.layout.headerBytes + this.written;
        const n = rest.length === 1 ? await writeAt(fd, rest[0], 0, rest[0].length, position) : await writevAt(fd, rest, position);
        this.written += n;
        rest = after(rest, n);
      } catch (error) {
        throw describeFsError('writing', this.path, error as NodeJS.ErrnoException);
      }
    }
  }

  /** Appends `frames` frames of digital silence (zero bytes: 0 in s16le, +0.0 in f32le). */
  async appendSilence(frames: number): Promise<void> {
    zeros ??= Buffer.alloc(ZERO_BLOCK_BYTES);
    const block = zeros.subarray(0, zeros.length - (zeros.length % this.layout.frameBytes));
    let left = frames * this.layout.frameBytes;
    while (left > 0) {
      // Up to SILENCE_WRITE_BLOCKS references to the one block per write: a long gap (a
      // recording that fell behind, a follow gap) is a few system calls, not one per 64 KiB.
      const blocks: Buffer[] = [];
      while (left > 0 && blocks.length < SILENCE_WRITE_BLOCKS) {
        const n = Math.min(left, block.length);
        blocks.push(n === block.length ? block : block.subarray(0, n));
        left -= n;
      }
      await this.append(blocks);
    }
  }

  /**
   * Rewrites the header with the size of the whole frames written so far (RIFF, or RF64 past
   * the RIFF limit).
   * @throws Error with the system's code.
   */
  async writeHeader(): Promise<void> {
    const fd = this.descriptor();
    const bytes = this.dataBytes;
    const header = wavHeader(this.layout, bytes);
    try {
      let done = 0;
      while (done < header.length) done += await writeAt(fd, header, done, header.length - done, done);
    } catch (error) {
      throw describeFsError('writing the header of', this.path, error as NodeJS.ErrnoException);
    }
    this.stated = bytes;
    this.statedAt = Date.now();
  }

  /** The exit hook's header rewrite: synchronous, errors ignored (the process is ending). */
  writeHeaderSync(): void {
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, wavHeader(this.layout, this.dataBytes), 0, this.layout.headerBytes, 0);
    } catch {
      // Nothing left to report to.
    }
  }

  /**
   * Finalizes and closes: cuts off a partial frame left by a failed write, rewrites the header
   * with the final sizes, closes the descriptor. The descriptor is closed even when a step
   * fails. Calling it again does nothing.
   * @throws Error (the first failure) when truncating, the header or closing failed.
   */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    const fd = this.fd;
    let first: Error | undefined;
    if (this.written !== this.dataBytes) {
      try {
        await call((cb) => fs.ftruncate(fd, this.layout.headerBytes + this.dataBytes, cb));
        this.written = this.dataBytes;
      } catch (error) {
        first ??= describeFsError('truncating', this.path, error as NodeJS.ErrnoException);
      }
    }
    try {
      await this.writeHeader();
    } catch (error) {
      first ??= error as Error;
    }
    this.fd = undefined;
    openFiles.delete(this);
    try {
      await call((cb) => fs.close(fd, cb));
    } catch (error) {
      first ??= describeFsError('closing', this.path, error as NodeJS.ErrnoException);
    }
    if (first) throw first;
  }
}

/**
 * Reads WAV files back for tests: RIFF and RF64 (EBU Tech 3306), chunk by chunk, written
 * independently of src/wav so that it checks the writer instead of agreeing with it.
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';

export interface WavHeaderInfo {
  /** 'RIFF' or 'RF64'. */
  id: string;
  /** The RIFF size (file length − 8) the header states (ds64's riffSize in RF64). */
  riffSize: number;
  format: { sampleRate: number; channels: number; bitDepth: number; audioFormat: number; blockAlign: number; byteRate: number; cbSize?: number };
  /** Body bytes of the fmt chunk (16, 18, 40). */
  fmtSize: number;
  /** The fact chunk's sample-frame count (0xFFFFFFFF in RF64), when there is one. */
  factFrames?: number;
  /** ds64 fields in RF64 files. */
  ds64?: { riffSize: number; dataSize: number; sampleCount: number };
  /** Chunk ids in file order, with offsets (of the id) and body sizes as stated. */
  chunks: Array<{ id: string; offset: number; size: number }>;
  /** Offset of the first data byte. */
  dataOffset: number;
  /** Data bytes the header states (ds64's dataSize in RF64). */
  dataSize: number;
}

export interface WavData extends WavHeaderInfo {
  /** The data chunk: interleaved PCM, as long as the header says. */
  data: Buffer;
}

/**
 * Parses the header (everything before the data) of a WAV file's first bytes.
 * @throws Error saying what is malformed.
 */
export function parseWavHeader(head: Buffer): WavHeaderInfo {
  const id = head.toString('latin1', 0, 4);
  if (id !== 'RIFF' && id !== 'RF64') throw new Error(`not a WAV file: starts with ${JSON.stringify(id)}`);
  if (head.toString('latin1', 8, 12) !== 'WAVE') throw new Error('RIFF form type is not WAVE');
  let riffSize = head.readUInt32LE(4);
  const chunks: WavHeaderInfo['chunks'] = [];
  let ds64: WavHeaderInfo['ds64'];
  let format: WavHeaderInfo['format'] | undefined;
  let fmtSize = 0;
  let factFrames: number | undefined;
  let at = 12;
  for (;;) {
    if (at + 8 > head.length) throw new Error(`no data chunk in the first ${head.length} bytes`);
    const chunk = head.toString('latin1', at, at + 4);
    let size = head.readUInt32LE(at + 4);
    const body = at + 8;
    if (chunks.length === 0 && id === 'RF64' && chunk !== 'ds64') throw new Error(`RF64 without ds64 as its first chunk (found ${chunk})`);
    if (chunk === 'data' && id === 'RF64' && size === 0xffffffff) size = ds64!.dataSize;
    chunks.push({ id: chunk, offset: at, size });
    if (chunk === 'ds64') {
      ds64 = {
        riffSize: Number(head.readBigUInt64LE(body)),
        dataSize: Number(head.readBigUInt64LE(body + 8)),
        sampleCount: Number(head.readBigUInt64LE(body + 16)),
      };
      if (riffSize === 0xffffffff) riffSize = ds64.riffSize;
    } else if (chunk === 'fmt ') {
      fmtSize = size;
      format = {
        audioFormat: head.readUInt16LE(body),
        channels: head.readUInt16LE(body + 2),
        sampleRate: head.readUInt32LE(body + 4),
        byteRate: head.readUInt32LE(body + 8),
        blockAlign: head.readUInt16LE(body + 12),
        bitDepth: head.readUInt16LE(body + 14),
        ...(size >= 18 ? { cbSize: head.readUInt16LE(body + 16) } : {}),
      };
    } else if (chunk === 'fact') {
      factFrames = head.readUInt32LE(body);
    } else if (chunk === 'data') {
      if (!format) throw new Error('data chunk before the fmt chunk');
      return { id, riffSize, format, fmtSize, factFrames, ds64, chunks, dataOffset: body, dataSize: size };
    }
    at = body + size + (size % 2);
  }
}

/** Parses the header of a WAV file on disk (reads its first 64 KiB only: fine for huge files). */
export function readWavHeader(file: string): WavHeaderInfo {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return parseWavHeader(head.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parses a WAV from a file path or the bytes of one.
 * @throws Error when the header is malformed or states more data than the file holds.
 */
export async function readWav(source: string | Buffer): Promise<WavData> {
  const bytes = typeof source === 'string' ? await fs.promises.readFile(source) : source;
  const header = parseWavHeader(bytes);
  const end = header.dataOffset + header.dataSize;
  if (end > bytes.length) throw new Error(`the header states ${header.dataSize} data bytes, the file holds ${bytes.length - header.dataOffset}`);
  return { ...header, data: bytes.subarray(header.dataOffset, end) };
}

/** What ffprobe reads of a file's first stream. */
export interface Probe {
  codec: string;
  sampleRate: number;
  channels: number;
  /** Frames (duration_ts in a 1/sampleRate time base). */
  frames: number;
}

/** Runs ffprobe on a file. @throws Error with ffprobe's message when it cannot read it. */
export function ffprobe(file: string): Probe {
  const out = execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  const s = JSON.parse(out).streams[0];
  return { codec: s.codec_name, sampleRate: Number(s.sample_rate), channels: Number(s.channels), frames: Number(s.duration_ts) };
}

/** What `sox --i` reads of a file. */
export interface SoxInfo {
  sampleRate: number;
  channels: number;
  /** Sample frames ("Duration : … = N samples"). */
  frames: number;
  /** "16-bit Signed Integer PCM", "32-bit Floating Point PCM". */
  encoding: string;
}

/** Runs `sox --i` on a file. @throws Error with sox's message when it cannot read it. */
export function soxInfo(file: string): SoxInfo {
  const out = execFileSync('sox', ['--i', file], { encoding: 'utf8' });
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(out)?.[1] ?? '';
  return {
    sampleRate: Number(field('Sample Rate')),
    channels: Number(field('Channels')),
    frames: Number(/=\s*(\d+) samples/.exec(field('Duration'))?.[1]),
    encoding: field('Sample Encoding'),
  };
}

/** The samples of a WAV as sox decodes them, in the file's own encoding (raw bytes). */
export function soxRaw(file: string): Buffer {
  return execFileSync('sox', [file, '-t', 'raw', '-'], { maxBuffer: 1 << 30 });
}

/** A WAV file's header and the data bytes actually on disk after it (file size − data offset). */
export function dataOnDisk(file: string): { header: WavHeaderInfo; onDisk: number } {
  const header = readWavHeader(file);
  return { header, onDisk: fs.statSync(file).size - header.dataOffset };
}

/** Asserts that ffprobe and `sox --i` both read `frames` sample frames in `file`. */
export function assertReadersSeeFrames(file: string, frames: number): void {
  assert.strictEqual(ffprobe(file).frames, frames, `ffprobe reads ${file} as that many frames`);
  assert.strictEqual(soxInfo(file).frames, frames, `sox reads ${file} as that many frames`);
}

/**
 * The bytes of a WAV header: RIFF/WAVE as Microsoft defines it ("Multimedia Programming
 * Interface and Data Specifications 1.0", 1991, and the WAVEFORMATEX structure of mmreg.h), and
 * RF64 (EBU Tech 3306, "MBWF / RF64: An extended File Format for Audio", 2009) once the data
 * outgrows RIFF's 32-bit sizes.
 *
 * Every header this module builds has the same length for a given format, whatever the data
 * size, so a writer rewrites it in place at offset 0 without moving the data:
 *
 * ```
 * offset  PCM s16le (80 bytes)               IEEE float f32le (94 bytes)
 *      0  'RIFF' | 'RF64'  u32 size          same
 *      8  'WAVE'                             same
 *     12  'JUNK' u32 28, 28 zero bytes       same  (while RIFF; EBU Tech 3306 §3.3: the space
 *         | 'ds64' u32 28: u64 riffSize,           the ds64 chunk takes once the file is RF64)
 *           u64 dataSize, u64 sampleCount,
 *           u32 tableLength = 0
 *     48  'fmt ' u32 16, WAVEFORMAT + PCM    'fmt ' u32 18, WAVEFORMATEX with cbSize = 0
 *     72  'data' u32 size                    74: 'fact' u32 4, u32 sample frames
 *                                            86: 'data' u32 size
 *     80  data…                              94: data…
 * ```
 *
 * Float: WAVE_FORMAT_IEEE_FLOAT (3) in an 18-byte WAVEFORMATEX (cbSize = 0) plus a `fact`
 * chunk, as Microsoft requires of every non-PCM format.
 *
 * More than two channels (a multitrack recording): WAVE_FORMAT_EXTENSIBLE (0xFFFE), a 40-byte
 * fmt (WAVEFORMATEXTENSIBLE, cbSize = 22: wValidBitsPerSample, dwChannelMask, the sub-format
 * GUID KSDATAFORMAT_SUBTYPE_PCM or _IEEE_FLOAT), as Microsoft requires for more than two
 * channels ("Multiple Channel Audio Data and WAVE Files", 2007); the mask is 0 (channels not
 * assigned to speakers: the tracks are sources, not positions), and float keeps its fact
 * chunk: 104 bytes of header for PCM, 116 for float. Mono and stereo keep the plain tags, read
 * by more programs (old players, the `wav` npm package, browsers' decodeAudioData).
 *
 * All multi-byte fields are little-endian.
 */
import { AudioFormat, bitDepth, bytesPerFrame } from '../format';

/** wFormatTag of integer PCM (mmreg.h). */
export const WAVE_FORMAT_PCM = 1;
/** wFormatTag of IEEE 754 float samples (mmreg.h). */
export const WAVE_FORMAT_IEEE_FLOAT = 3;
/** wFormatTag of WAVEFORMATEXTENSIBLE (mmreg.h): the sample type is the sub-format GUID. */
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** The tail of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT (ksmedia.h) after their first 4 bytes (1 or 3). */
const SUBTYPE_TAIL = Buffer.from([0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]);
/** The largest value of a RIFF 32-bit size field; RF64 writes it where ds64 holds the size. */
export const RIFF_MAX_SIZE = 0xffffffff;
/** Bytes of the ds64 chunk's body without a table (EBU Tech 3306 §3.3): 3 × u64 + u32. */
export const DS64_BODY_BYTES = 28;

/** Where the fields of a format's header sit, in bytes. */
export interface WavLayout {
  format: AudioFormat;
  /** Bytes per frame (all channels of one sample instant). */
  frameBytes: number;
  /** Length of the header = offset of the first data byte (80 for PCM, 94 for float). */
  headerBytes: number;
  /** Body of the fmt chunk: 16 (PCM), 18 (WAVEFORMATEX with cbSize), 40 (WAVEFORMATEXTENSIBLE). */
  fmtBytes: 16 | 18 | 40;
  /** Offset of the fact chunk's sample-frame count, or undefined (PCM has no fact chunk). */
  factOffset?: number;
  /** Offset of the data chunk's 32-bit size field. */
  dataSizeOffset: number;
  /**
   * The most data bytes (whole frames) a plain RIFF file of this format can hold: the RIFF size
   * (file length − 8) must fit in 32 bits. One frame more and the header becomes RF64.
   */
  riffMaxDataBytes: number;
}

const JUNK_OFFSET = 12;
const FMT_OFFSET = JUNK_OFFSET + 8 + DS64_BODY_BYTES; // 48

/** The header layout of a format. */
export function wavLayout(format: AudioFormat): WavLayout {
  const frameBytes = bytesPerFrame(format);
  const float = format.encoding === 'f32le';
  const fmtBytes = format.channels > 2 ? 40 : float ? 18 : 16;
  const afterFmt = FMT_OFFSET + 8 + fmtBytes;
  const factOffset = float ? afterFmt + 8 : undefined;
  const dataChunk = float ? afterFmt + 12 : afterFmt;
  const headerBytes = dataChunk + 8;
  const room = RIFF_MAX_SIZE - (headerBytes - 8);
  return {
    format,
    frameBytes,
    headerBytes,
    fmtBytes,
    factOffset,
    dataSizeOffset: dataChunk + 4,
    riffMaxDataBytes: room - (room % frameBytes),
  };
}

/** True when `dataBytes` of data need an RF64 header (more than {@link WavLayout.riffMaxDataBytes}). */
export function needsRf64(layout: WavLayout, dataBytes: number): boolean {
  return dataBytes > layout.riffMaxDataBytes;
}

/**
 * The whole header of a file holding `dataBytes` bytes of data (whole frames): RIFF while the
 * sizes fit 32 bits, else RF64 with a ds64 chunk in the place of the JUNK chunk.
 * @param dataBytes bytes in the data chunk, a multiple of the frame size, below 2^53.
 * @returns a new Buffer of `layout.headerBytes` bytes.
 * @throws RangeError when dataBytes is negative, fractional or not whole frames.
 */
export function wavHeader(layout: WavLayout, dataBytes: number): Buffer {
  if (!Number.isSafeInteger(dataBytes) || dataBytes < 0 || dataBytes % layout.frameBytes !== 0) {
    throw new RangeError(`dataBytes: expected whole ${layout.frameBytes}-byte frames, got ${dataBytes}`);
  }
  const { format, frameBytes, headerBytes, fmtBytes, factOffset, dataSizeOffset } = layout;
  const frames = dataBytes / frameBytes;
  const rf64 = needsRf64(layout, dataBytes);
  const h = Buffer.alloc(headerBytes);
  const riffSize = headerBytes - 8 + dataBytes;

  h.write(rf64 ? 'RF64' : 'RIFF', 0, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_MAX_SIZE : riffSize, 4);
  h.write('WAVE', 8, 'latin1');

  h.write(rf64 ? 'ds64' : 'JUNK', JUNK_OFFSET, 'latin1');
  h.writeUInt32LE(DS64_BODY_BYTES, JUNK_OFFSET + 4);
  if (rf64) {
    h.writeBigUInt64LE(BigInt(riffSize), JUNK_OFFSET + 8);
    h.writeBigUInt64LE(BigInt(dataBytes), JUNK_OFFSET + 16);
    h.writeBigUInt64LE(BigInt(frames), JUNK_OFFSET + 24);
    // u32 tableLength at JUNK_OFFSET + 32 stays 0: no other chunk needs a 64-bit size.
  }

  const bits = bitDepth(format.encoding);
  h.write('fmt ', FMT_OFFSET, 'latin1');
  h.writeUInt32LE(fmtBytes, FMT_OFFSET + 4);
  const tag = format.encoding === 'f32le' ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM;
  h.writeUInt16LE(fmtBytes === 40 ? WAVE_FORMAT_EXTENSIBLE : tag, FMT_OFFSET + 8);
  h.writeUInt16LE(format.channels, FMT_OFFSET + 10);
  h.writeUInt32LE(format.sampleRate, FMT_OFFSET + 12);
  h.writeUInt32LE(format.sampleRate * frameBytes, FMT_OFFSET + 16); // nAvgBytesPerSec
  h.writeUInt16LE(frameBytes, FMT_OFFSET + 20); // nBlockAlign
  h.writeUInt16LE(bits, FMT_OFFSET + 22);
  // cbSize (float only) at FMT_OFFSET + 24 stays 0: no extra format bytes.
  if (fmtBytes === 40) {
    h.writeUInt16LE(22, FMT_OFFSET + 24); // cbSize
    h.writeUInt16LE(bits, FMT_OFFSET + 26); // wValidBitsPerSample
    h.writeUInt32LE(0, FMT_OFFSET + 28); // dwChannelMask: no speaker positions
    h.writeUInt32LE(tag, FMT_OFFSET + 32); // SubFormat: the GUID whose first field is the tag
    SUBTYPE_TAIL.copy(h, FMT_OFFSET + 36);
  }

  if (factOffset !== undefined) {
    h.write('fact', factOffset - 8, 'latin1');
    h.writeUInt32LE(4, factOffset - 4);
    // dwSampleLength: sample frames; in RF64 the ds64 sampleCount holds it (EBU Tech 3306 §3.3).
    h.writeUInt32LE(rf64 ? RIFF_MAX_SIZE : frames, factOffset);
  }

  h.write('data', dataSizeOffset - 4, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_MAX_SIZE : dataBytes, dataSizeOffset);
  return h;
}

/** Reads WAV files back with the `wav` package's Reader (tests only). */
import fs from 'fs';
import { Readable } from 'stream';
import { Reader } from 'wav';

export interface WavData {
  format: { sampleRate: number; channels: number; bitDepth: number; audioFormat: number };
  /** The data chunk: interleaved PCM. */
  data: Buffer;
}

/** Parses a WAV from a file path or the bytes of one. */
export function readWav(source: string | Buffer): Promise<WavData> {
  return new Promise((resolve, reject) => {
    const reader = new Reader();
    const parts: Buffer[] = [];
    let format: WavData['format'];
    reader.on('format', (f: WavData['format']) => (format = f));
    reader.on('data', (d: Buffer) => parts.push(d));
    reader.on('end', () => resolve({ format, data: Buffer.concat(parts) }));
    reader.on('error', reject);
    (typeof source === 'string' ? fs.createReadStream(source) : Readable.from([source])).pipe(reader);
  });
}

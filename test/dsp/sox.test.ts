/**
 * The eq against SoX's biquad effects (equalizer, bass, treble, highpass, lowpass, bandpass,
 * bandreject), which implement the same RBJ cookbook: same noise in, outputs compared.
 * Needs the `sox` command (Debian package sox).
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { Band } from '../../src/dsp/cookbook';
import { Equalizer } from '../../src/dsp/equalizer';
import { AudioFormat } from '../../src/format';
import { f32, noise } from './signals';

function hasSox(): boolean {
  try {
    execFileSync('sox', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('eq against SoX (relative error below −60 dB)', function () {
  this.timeout(60000);
  const format: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 'f32le' };
  const frames = 48000 * 2;
  let dir: string;
  let inputFile: string;
  let input: Buffer;

  before(function () {
    assert.ok(hasSox(), 'the sox command is missing: install it (apt-get install sox) to run these tests');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eq-sox-'));
    inputFile = path.join(dir, 'in.f32');
    input = f32([noise(frames, 0.25, 1), noise(frames, 0.25, 2)]);
    fs.writeFileSync(inputFile, input);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function sox(effect: string[]): Float32Array {
    const outFile = path.join(dir, 'out.f32');
    const raw = ['-t', 'raw', '-r', '48000', '-c', '2', '-e', 'floating-point', '-b', '32'];
    execFileSync('sox', ['-D', '-V1', ...raw, inputFile, ...raw, outFile, ...effect]);
    const out = fs.readFileSync(outFile);
    return new Float32Array(out.buffer, out.byteOffset, out.length / 4);
  }

  function ours(bands: Band[]): Float32Array {
    const eq = new Equalizer(format, { bands, preamp: 0, bypass: false });
    const out = Buffer.alloc(input.length);
    const chunk = 480 * 8;
    for (let at = 0; at < input.length; at += chunk) eq.process(input.subarray(at, at + chunk), out.subarray(at, at + chunk));
    return new Float32Array(out.buffer, out.byteOffset, out.length / 4);
  }

  function relativeErrorDb(a: Float32Array, reference: Float32Array): number {
    assert.strictEqual(a.length, reference.length, 'output lengths differ');
    let err = 0, ref = 0;
    for (let i = 0; i < a.length; i++) {
      err += (a[i] - reference[i]) ** 2;
      ref += reference[i] ** 2;
    }
    assert.ok(ref > 0, 'SoX output is silent');
    return 10 * Math.log10(err / ref);
  }

  const cases: Array<[string[], Band[]]> = [
    [['equalizer', '1000', '2q', '6'], [{ type: 'peaking', frequency: 1000, gain: 6, q: 2 }]],
    [['equalizer', '80', '0.7q', '-9'], [{ type: 'peaking', frequency: 80, gain: -9, q: 0.7 }]],
    [['bass', '6', '100', '0.7s'], [{ type: 'lowshelf', frequency: 100, gain: 6, slope: 0.7 }]],
    [['bass', '-5', '250', '1q'], [{ type: 'lowshelf', frequency: 250, gain: -5, q: 1 }]],
    [['treble', '-4', '3000', '1s'], [{ type: 'highshelf', frequency: 3000, gain: -4, slope: 1 }]],
    [['highpass', '-2', '200', '0.707q'], [{ type: 'highpass', frequency: 200, q: 0.707 }]],
    [['lowpass', '-2', '5000', '2q'], [{ type: 'lowpass', frequency: 5000, q: 2 }]],
    [['bandpass', '1000', '1.5q'], [{ type: 'bandpass', frequency: 1000, q: 1.5 }]],
    [['bandreject', '50', '4q'], [{ type: 'notch', frequency: 50, q: 4 }]],
  ];
  for (const [effect, bands] of cases) {
    it(`${effect.join(' ')} = ${bands[0].type}`, () => {
      const error = relativeErrorDb(ours(bands), sox(effect));
      assert.ok(error < -60, `relative error ${error.toFixed(1)} dB`);
    });
  }

  it('a 10-band graphic chain with preamp = bass + 8 × equalizer + treble + vol', () => {
    const gains = [3, 2, 1, 0, -1, -2, 1, 2, 3, 4];
    const freqs = [31, 62, 125, 250, 500, 1000, 2000, 4000, 8000, 16000];
    const effect = ['vol', '-3dB', 'bass', String(gains[0]), '31', '1s'];
    for (let i = 1; i < 9; i++) effect.push('equalizer', String(freqs[i]), '1.41q', String(gains[i]));
    effect.push('treble', String(gains[9]), '16000', '1s');
    const bands: Band[] = freqs.map((f, i) =>
      i === 0
        ? { type: 'lowshelf', frequency: f, gain: gains[i], slope: 1 }
        : i === 9
          ? { type: 'highshelf', frequency: f, gain: gains[i], slope: 1 }
          : { type: 'peaking', frequency: f, gain: gains[i], q: 1.41 },
    );
    const eq = new Equalizer(format, { bands, preamp: -3, bypass: false });
    const out = eq.process(input);
    const error = relativeErrorDb(new Float32Array(out.buffer, out.byteOffset, out.length / 4), sox(effect));
    assert.ok(error < -60, `relative error ${error.toFixed(1)} dB`);
  });
});

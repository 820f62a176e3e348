// The Core Audio backend through the raw native binding. Runs on macOS only (skipped, i.e.
// reported pending, elsewhere). The capture test needs the system-audio-recording permission
// and a way to play sound, so it is opt-in: AUDIOTAP_MACOS_INTEGRATION=1. The playback tests
// run on any Mac (macOS 13 included): a machine without an output device must give ENOAPP.
import { strict as assert } from 'assert';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AudioChunk, Capture, CaptureEnd } from '../../src';
import { channelSamples, toneAmplitude } from '../helpers/signal';

const root = path.resolve(__dirname, '..', '..', '..');
const isMac = process.platform === 'darwin';
const integration = process.env.AUDIOTAP_MACOS_INTEGRATION === '1';

interface CodedError extends Error {
  code?: string;
}
type OnEvent = (type: string, ...args: unknown[]) => void;
interface RawCapture {
  start(): Promise<void>;
  stop(): void;
}
interface PlaybackStats {
  playedFrames: number;
  underruns: number;
  overrunFrames: number;
  bufferedFrames: number;
  outputLatencyFrames: number;
}
interface RawPlayback {
  start(): Promise<void>;
  write(data: Buffer): number;
  drain(): void;
  stop(): void;
  stats(): PlaybackStats;
}
interface RawBinding {
  backend(): string;
  listApps(): Promise<Array<{ pid: number; name: string; executable: string; playing: boolean }>>;
  listDevices(): Promise<Array<{ id: string; name: string; isDefault: boolean }>>;
  setAppVolume(app: number | string, volume: number | null, mute: boolean | null): Promise<void>;
  Capture: new (options: object, onEvent: OnEvent) => RawCapture;
  Playback: new (options: object) => RawPlayback;
}

// macOS 14.2 is Darwin 23.2.
function tapsAvailable(): boolean {
  const [major, minor] = os.release().split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 2);
}

function load(): RawBinding {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('node-gyp-build')(root) as RawBinding;
}

async function rejection(promise: Promise<unknown>): Promise<CodedError> {
  try {
    await promise;
  } catch (error) {
    return error as CodedError;
  }
  assert.fail('expected a rejection');
}

// A 16-bit stereo 48 kHz WAV of a 440 Hz sine at -6 dBFS, `seconds` long.
function writeTone(file: string, seconds: number, freq = 440): void {
  const rate = 48000;
  const frames = rate * seconds;
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const sample = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * freq * i) / rate));
    data.writeInt16LE(sample, i * 4);
    data.writeInt16LE(sample, i * 4 + 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([header, data]));
}

describe('Core Audio backend (macOS)', function () {
  this.timeout(30000);
  let binding: RawBinding;

  before(function () {
    if (!isMac) this.skip();
    binding = load();
  });

  it('is the coreaudio backend', function () {
    assert.equal(binding.backend(), 'coreaudio');
  });

  it('lists apps on macOS 14.2+, and says it needs 14.2 before', async function () {
    if (tapsAvailable()) {
      const apps = await binding.listApps();
      assert.ok(Array.isArray(apps));
      for (const app of apps) {
        assert.ok(Number.isInteger(app.pid) && app.pid > 0, JSON.stringify(app));
        assert.notEqual(app.pid, process.pid, 'lists its own process');
        assert.equal(typeof app.name, 'string');
        assert.equal(typeof app.playing, 'boolean');
      }
    } else {
      const error = await rejection(binding.listApps());
      assert.equal(error.code, 'EUNSUPPORTED');
      assert.match(error.message, /requires macOS 14\.2/);
    }
  });

  it('rejects an app that is not running with ENOAPP', async function () {
    const capture = new binding.Capture(
      { target: { kind: 'app', apps: ['no-such-app-7f3c9e'] } },
      () => undefined,
    );
    const error = await rejection(capture.start());
    assert.equal(error.code, tapsAvailable() ? 'ENOAPP' : 'EUNSUPPORTED', error.message);
    assert.match(error.message, tapsAvailable() ? /no-such-app-7f3c9e/ : /requires macOS 14\.2/);
  });

  it('waits for a running app that has not opened audio, and ends when it exits', async function () {
    if (!tapsAvailable()) this.skip();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const states: string[] = [];
      let ended: Record<string, unknown> | undefined;
      const capture = new binding.Capture(
        { target: { kind: 'app', apps: [sleeper.pid] } },
        (type, ...args) => {
          if (type === 'state') states.push(String(args[0]));
          if (type === 'end') ended = args[0] as Record<string, unknown>;
        },
      );
      await capture.start();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.ok(!states.includes('recording'), `states: ${states.join(', ')}`);
      assert.equal(ended, undefined);
      sleeper.kill();
      const deadline = Date.now() + 5000;
      while (!ended && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(ended, 'no end event within 5 s of the app exiting');
      assert.equal(ended?.reason, 'target-exited', JSON.stringify(ended));
      capture.stop();
    } finally {
      sleeper.kill();
    }
  });

  it('rejects an unknown tap UID with ENOTAP', async function () {
    if (!tapsAvailable()) this.skip();
    const capture = new binding.Capture(
      { target: { kind: 'tap', tapUid: '00000000-0000-0000-0000-000000000000' } },
      () => undefined,
    );
    const error = await rejection(capture.start());
    assert.equal(error.code, 'ENOTAP', error.message);
  });

  it('has no per-app volume, and says what to use instead', async function () {
    for (const volume of [0.5, null]) {
      const error = await rejection(binding.setAppVolume('Music', volume, volume === null));
      assert.equal(error.code, 'EUNSUPPORTED', error.message);
      assert.match(error.message, /not available on macOS; use tap-source with mute, then eq/);
    }
  });

  describe('audio-out (AUHAL)', function () {
    async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
      const deadline = Date.now() + ms;
      while (!check() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return check();
    }

    // Starts a playback of silence, or returns the ENOAPP a Mac without output gives.
    async function startSilence(
      options: object,
      frameBytes: number,
    ): Promise<RawPlayback | undefined> {
      const playback = new binding.Playback({ bufferFrames: 2400, ...options });
      try {
        await playback.start();
      } catch (error) {
        const coded = error as CodedError;
        assert.equal(coded.code, 'ENOAPP', coded.message);
        assert.match(coded.message, /no default output device/);
        return undefined;
      }
      const written = playback.write(Buffer.alloc(9600 * frameBytes));
      assert.equal(written, 9600, 'the jitter buffer takes 9600 frames');
      return playback;
    }

    for (const format of [
      { sampleRate: 48000, channels: 2, encoding: 's16le', frameBytes: 4 },
      { sampleRate: 44100, channels: 1, encoding: 'f32le', frameBytes: 4 },
      { sampleRate: 22050, channels: 2, encoding: 'f32le', frameBytes: 8 },
    ]) {
      const title = `${format.sampleRate} Hz ${format.channels} ch ${format.encoding}`;
      it(`plays ${title} to the default output, then stops`, async function () {
        const { frameBytes, ...options } = format;
        const playback = await startSilence(options, frameBytes);
        if (!playback) this.skip();
        assert.ok(await waitFor(() => playback.stats().playedFrames > 0, 3000),
          `the device pulled nothing in 3 s: ${JSON.stringify(playback.stats())}`);
        const stats = playback.stats();
        assert.ok(stats.playedFrames <= 9600, JSON.stringify(stats));
        assert.equal(stats.overrunFrames, 0);
        // Device latency + safety offset + IO buffer: at least one IO buffer, under a second.
        assert.ok(stats.outputLatencyFrames === -1 ||
          (stats.outputLatencyFrames > 0 && stats.outputLatencyFrames < format.sampleRate),
          `outputLatencyFrames ${stats.outputLatencyFrames}`);
        playback.stop();
        const played = playback.stats().playedFrames;
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(playback.stats().playedFrames, played, 'the device pulled after stop()');
        assert.equal(playback.stats().outputLatencyFrames, -1);
        playback.stop(); // idempotent
      });
    }

    it('plays to the default device chosen by its UID and by its name', async function () {
      const devices = await binding.listDevices();
      const device = devices.find((d) => d.isDefault);
      if (!device) this.skip();
      const choices = [device.id];
      // Names match ignoring ASCII case; a name two devices share is EAMBIGUOUS instead.
      if (devices.filter((d) => d.name.toLowerCase() === device.name.toLowerCase()).length === 1) {
        choices.push(device.name.replace(/[a-z]/g, (c) => c.toUpperCase()));
      }
      for (const choice of choices) {
        const playback = await startSilence(
          { sampleRate: 48000, channels: 2, encoding: 's16le', device: choice }, 4);
        assert.ok(playback, `no playback on ${choice}`);
        assert.ok(await waitFor(() => playback.stats().playedFrames > 0, 3000), choice);
        playback.stop();
      }
    });

    it('names the output device that does not exist, and lists the others', async function () {
      const playback = new binding.Playback({ device: 'no-such-output-audiotap' });
      const error = await rejection(playback.start());
      assert.equal(error.code, 'ENOAPP', error.message);
      assert.match(error.message, /"no-such-output-audiotap"/);
      const devices = await binding.listDevices();
      for (const device of devices) {
        assert.ok(error.message.includes(`(UID ${device.id})`), `${device.id} not listed`);
      }
      playback.stop();
    });
  });

  describe('capturing a playing app (AUDIOTAP_MACOS_INTEGRATION=1)', function () {
    let player: ChildProcess | undefined;
    let dir: string;

    before(function () {
      if (!integration || !tapsAvailable()) this.skip();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audiotap-mac-'));
    });

    after(function () {
      player?.kill();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('delivers the tone afplay plays, as f32le frames', async function () {
      const tone = path.join(dir, 'tone.wav');
      writeTone(tone, 6);
      player = spawn('afplay', [tone], { stdio: 'ignore' });
      await new Promise((resolve) => setTimeout(resolve, 700));

      const chunks: Buffer[] = [];
      const warnings: string[] = [];
      let ended: Record<string, unknown> | undefined;
      const capture = new binding.Capture(
        {
          target: { kind: 'app', apps: [player.pid] },
          sampleRate: 48000,
          channels: 2,
          encoding: 'f32le',
        },
        (type, ...args) => {
          if (type === 'chunk') chunks.push(args[0] as Buffer);
          if (type === 'warning') warnings.push(String(args[0]));
          if (type === 'end') ended = args[0] as Record<string, unknown>;
        },
      );
      await capture.start();
      await new Promise((resolve) => setTimeout(resolve, 4000));
      capture.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));

      const permission = warnings.find((w) => w.startsWith('EPERMISSION'));
      assert.equal(permission, undefined, permission);
      const pcm = Buffer.concat(chunks);
      assert.equal(pcm.length % 8, 0, 'whole f32le stereo frames');
      assert.ok(pcm.length >= 48000 * 8 * 2, `only ${pcm.length / 8} frames in 4 s`);
      let sum = 0;
      const samples = pcm.length / 4;
      for (let i = 0; i < samples; i++) sum += pcm.readFloatLE(i * 4) ** 2;
      const rms = Math.sqrt(sum / samples);
      // A -6 dBFS sine has an RMS of 0.354; the app's volume and the mix may lower it.
      assert.ok(rms > 0.01 && rms < 0.6, `RMS ${rms}`);
      assert.ok(ended, 'an end event after stop()');
      assert.equal(ended?.reason, 'stopped');
    });
  });

  describe('multitrack and input devices', function () {
    const format = { sampleRate: 48000, channels: 2 as const, encoding: 's16le' as const };

    it('names the input device that does not exist, and lists the others', async function () {
      const capture = new Capture({ target: { kind: 'input', device: 'no such microphone' } });
      const error = await rejection(capture.start());
      assert.equal(error.code, 'ENOAPP', String(error));
      assert.match(error.message, /no input device has the UID or name "no such microphone"; (the input devices are|there is no input device)/);
    });

    it('records the system mix twice as two tracks on one timeline (macOS 14.2+)', async function () {
      const capture = new Capture({ target: { kind: 'tracks', tracks: [{ kind: 'system' }, { kind: 'system' }] }, format });
      const ended = new Promise<CaptureEnd>((resolve) => capture.once('end', resolve));
      const chunks: AudioChunk[] = [];
      capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk));
      if (!tapsAvailable()) {
        assert.equal((await rejection(capture.start())).code, 'EUNSUPPORTED');
        return;
      }
      await capture.start();
      assert.equal(capture.format.channels, 4);
      assert.deepEqual(capture.tracks?.map((t) => [t.index, t.firstChannel, t.channels]), [[0, 0, 2], [1, 2, 2]]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      capture.stop();
      assert.equal((await ended).reason, 'stopped');
      assert.ok(chunks.length > 0, 'chunks arrived');
      for (const chunk of chunks) assert.equal(chunk.data.length, chunk.frames * 4 * 2);
    });

    it('records two apps in two tracks, each with its own tone (AUDIOTAP_MACOS_INTEGRATION=1)', async function () {
      if (!integration || !tapsAvailable()) this.skip();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audiotap-mac-tracks-'));
      const players: ChildProcess[] = [];
      try {
        const tones = [[440, 'a.wav'], [1000, 'b.wav']] as const;
        for (const [freq, name] of tones) {
          writeTone(path.join(dir, name), 6, freq);
          players.push(spawn('afplay', [path.join(dir, name)], { stdio: 'ignore' }));
        }
        await new Promise((resolve) => setTimeout(resolve, 700));
        const capture = new Capture({
          target: { kind: 'tracks', tracks: players.map((p) => ({ kind: 'app' as const, apps: [p.pid as number] })) },
          format,
        });
        const chunks: Buffer[] = [];
        capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk.data));
        const ended = new Promise<CaptureEnd>((resolve) => capture.once('end', resolve));
        await capture.start();
        await new Promise((resolve) => setTimeout(resolve, 3000));
        capture.stop();
        await ended;
        const pcm = Buffer.concat(chunks);
        // Track 0 (channels 0-1) holds 440 Hz and not 1 kHz; track 1 (channels 2-3) the other way.
        const left0 = channelSamples(pcm, 's16le', 4, 0);
        const left1 = channelSamples(pcm, 's16le', 4, 2);
        assert.ok(toneAmplitude(left0, 440, 48000) > 10 * toneAmplitude(left0, 1000, 48000), 'track 0 is the 440 Hz app');
        assert.ok(toneAmplitude(left1, 1000, 48000) > 10 * toneAmplitude(left1, 440, 48000), 'track 1 is the 1 kHz app');
      } finally {
        for (const player of players) player.kill();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

// The Windows backend through the engine API, on a Windows machine (the windows workflow runs
// it on windows-2022, build 20348, which has process loopback but usually no sound card and
// may have the Windows Audio service stopped). Elsewhere the suite is pending, not passing.
import assert from 'assert';
import { AudioChunk, backendName, Capture, CaptureEnd, listApps, Playback, setAppVolume } from '../../src';

interface CodedError extends Error {
  code?: string;
}

async function rejection(promise: Promise<unknown>): Promise<CodedError> {
  try {
    await promise;
  } catch (error) {
    return error as CodedError;
  }
  assert.fail('expected a rejection');
}

describe('WASAPI backend (Windows)', function () {
  before(function () {
    if (process.platform !== 'win32') this.skip();
  });

  it('is the wasapi backend', function () {
    assert.strictEqual(backendName(), 'wasapi');
  });

  it('lists apps as one entry per process, or says the audio service is missing', async function () {
    try {
      const apps = await listApps();
      const pids = apps.map((app) => app.pid);
      assert.strictEqual(new Set(pids).size, pids.length, 'one entry per PID');
      for (const app of apps) {
        assert(Number.isInteger(app.pid) && app.pid > 0);
        assert(app.name.length > 0, `PID ${app.pid} has a name`);
        assert(app.volume >= 0 && app.volume <= 1);
        assert(app.streams >= 1);
      }
    } catch (error) {
      assert.strictEqual((error as CodedError).code, 'ENOSERVER', String(error));
    }
  });

  it('refuses mute: true, because session mute would silence the capture', async function () {
    const capture = new Capture({ target: { kind: 'app', apps: [process.pid] }, mute: true });
    const error = await rejection(capture.start());
    assert.strictEqual(error.code, 'EUNSUPPORTED');
    assert.match(error.message, /session mute/);
  });

  it('refuses macOS taps', async function () {
    const capture = new Capture({ target: { kind: 'tap', tapUid: 'not-a-tap' } });
    const error = await rejection(capture.start());
    assert.strictEqual(error.code, 'EUNSUPPORTED');
  });

  it('refuses an output device for a process-loopback capture', async function () {
    const capture = new Capture({ target: { kind: 'app', apps: [process.pid] }, device: 'x' });
    const error = await rejection(capture.start());
    assert.strictEqual(error.code, 'EUNSUPPORTED');
    assert.match(error.message, /output device/);
  });

  it('names the app that is not running', async function () {
    const capture = new Capture({ target: { kind: 'app', apps: ['no-such-app-audiotap.exe'] } });
    const error = await rejection(capture.start());
    assert(['ENOAPP', 'ENOSERVER'].includes(error.code ?? ''), `${error.code}: ${error.message}`);
    if (error.code === 'ENOAPP') assert.match(error.message, /no-such-app-audiotap\.exe/);
  });

  it('captures its own process tree and stops cleanly, or fails with a coded error', async function () {
    const capture = new Capture({ target: { kind: 'app', apps: [process.pid] } });
    const ended = new Promise<CaptureEnd>((resolve) => capture.once('end', resolve));
    try {
      await capture.start();
    } catch (error) {
      // No audio service on the runner, or process loopback refused.
      assert(['ENOSERVER', 'EUNSUPPORTED', 'EOS'].includes((error as CodedError).code ?? ''),
        String(error));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    capture.stop();
    const end = await ended;
    assert.strictEqual(end.reason, 'stopped');
  });

  it('records its own process tree and the system mix as two tracks on one timeline, or fails with a coded error', async function () {
    const capture = new Capture({
      target: { kind: 'tracks', tracks: [{ kind: 'app', apps: [process.pid] }, { kind: 'system' }] },
      format: { sampleRate: 48000, channels: 2, encoding: 's16le' },
    });
    const ended = new Promise<CaptureEnd>((resolve) => capture.once('end', resolve));
    const chunks: AudioChunk[] = [];
    capture.on('chunk', (chunk: AudioChunk) => chunks.push(chunk));
    try {
      await capture.start();
    } catch (error) {
      // No audio service or no output device on the runner, or process loopback refused.
      assert(['ENOSERVER', 'EUNSUPPORTED', 'EOS', 'ENOAPP'].includes((error as CodedError).code ?? ''), String(error));
      return;
    }
    assert.strictEqual(capture.format.channels, 4);
    assert.deepStrictEqual(capture.tracks?.map((t) => [t.index, t.firstChannel, t.channels]), [[0, 0, 2], [1, 2, 2]]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    capture.stop();
    const end = await ended;
    assert.strictEqual(end.reason, 'stopped');
    // The system mix starts the timeline at once: every chunk holds both tracks (4 channels).
    assert.ok(chunks.length > 0, 'chunks arrived');
    for (const chunk of chunks) assert.strictEqual(chunk.data.length, chunk.frames * 4 * 2);
  });

  it('names the input device that does not exist', async function () {
    const capture = new Capture({ target: { kind: 'input', device: 'no such microphone' } });
    const error = await rejection(capture.start());
    assert(['ENOAPP', 'ENOSERVER'].includes(error.code ?? ''), String(error));
    if (error.code === 'ENOAPP') assert.match(error.message, /no input device has the endpoint ID or name "no such microphone"|there is no active input device/);
  });

  it('plays to the default output and stops cleanly, or fails with a coded error', async function () {
    const format = { sampleRate: 48000, channels: 2 as const, encoding: 's16le' as const };
    const playback = new Playback({ format, bufferMs: 50 });
    try {
      await playback.start();
    } catch (error) {
      // No output device, or no audio service, on the runner.
      assert(['ENOAPP', 'ENOSERVER'].includes((error as CodedError).code ?? ''), String(error));
      playback.stop();
      return;
    }
    const chunk = Buffer.alloc(2400 * playback.bytesPerFrame);  // 50 ms of silence
    for (let i = 0; i < 4; i++) playback.write(chunk);
    const deadline = Date.now() + 3000;
    while (playback.stats().playedFrames === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stats = playback.stats();
    assert(stats.playedFrames > 0, `nothing played: ${JSON.stringify(stats)}`);
    assert(stats.outputLatencyFrames >= -1);
    playback.stop();
    playback.stop();
    assert.strictEqual(playback.stats().outputLatencyFrames, -1);
  });

  it('names the output device that does not exist', async function () {
    const format = { sampleRate: 48000, channels: 2 as const, encoding: 's16le' as const };
    const playback = new Playback({ format, device: 'no-such-output-audiotap' });
    const error = await rejection(playback.start());
    assert(['ENOAPP', 'ENOSERVER'].includes(error.code ?? ''), `${error.code}: ${error.message}`);
    if (error.code === 'ENOAPP') assert.match(error.message, /no-such-output-audiotap/);
  });

  it('changes no volume of an app without audio sessions', async function () {
    const error = await rejection(setAppVolume(process.pid, { volume: 0.5 }));
    assert(['ENOAPP', 'ENOSERVER'].includes(error.code ?? ''), `${error.code}: ${error.message}`);
  });
});

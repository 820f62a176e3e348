/**
 * The README's main job (`npm start`): Node-RED with these nodes and the example flow, on a
 * private audio server where none runs, records the demo app into a WAV that sox reads.
 */
import assert from 'assert';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { waitFor } from './helpers/pulse';

describe('the main job (npm start)', function () {
  this.timeout(60000);
  let child: ChildProcess | undefined;
  let userDir: string;
  let log = '';

  let port = 0;

  before(async function () {
    // A port nobody uses now.
    port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as net.AddressInfo;
        server.close(() => resolve(free));
      });
    });
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-user-'));
    const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-xdg-'));
    const env: NodeJS.ProcessEnv = { ...process.env, AUDIO_TAP_USER_DIR: userDir, PORT: String(port), XDG_RUNTIME_DIR: runtime };
    delete env.PULSE_SERVER; // as on a headless box: no audio server
    delete env.AUDIO_TAP_TEST_PULSE_SERVER; // the main job must start its own, not reuse the suite's
    child = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'start.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (data) => (log += String(data)));
    child.stderr!.on('data', (data) => (log += String(data)));
  });

  after(async function () {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('starts a private audio server, serves the editor and records the demo app for 10 s', async function () {
    const recordings = path.join(userDir, 'recordings');
    await waitFor(() => log.includes(`Node-RED editor: http://127.0.0.1:${port}/`), 15000, 'the editor URL');
    assert.match(log, /started a private PulseAudio/);
    await waitFor(() => log.includes('[debug:file written]'), 40000, 'the example recording to finish').catch((error: Error) => {
      throw new Error(`${error.message}; the main job's log:\n${log}`);
    });
    const files = fs.readdirSync(recordings).filter((name) => name.endsWith('.wav'));
    assert.strictEqual(files.length, 1, log);
    const info = execFileSync('sox', ['--i', '-D', path.join(recordings, files[0])], { encoding: 'utf8' });
    assert.strictEqual(Number(info.trim()), 10);
    // The demo app's arpeggio (peak 0.4) is in it, not silence.
    const stat = spawnSync('sox', [path.join(recordings, files[0]), '-n', 'stat'], { encoding: 'utf8' }).stderr;
    const rms = Number(/RMS\s+amplitude:\s+([\d.]+)/.exec(stat)?.[1]);
    assert.ok(rms > 0.2 && rms < 0.35, `RMS amplitude ${rms}`);
  });

  it('stops cleanly on SIGTERM', async function () {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child!.kill('SIGTERM');
    assert.strictEqual(await exited, 0);
  });
});

/**
 * A whole Node-RED recording an app while it is redeployed, partially redeployed and killed:
 * what is on disk afterwards, what the log says, what is left on the audio server.
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { startNodeRed } from './helpers/nodered';
import { Player, playTone, PulseServer, sourceOutputs, startPulse, waitFor, waitForStream } from './helpers/pulse';

/** The data chunk of a RIFF/RF64 WAVE file: where its bytes start, and what its size field says. */
function dataChunk(file: string): { offset: number; declared: number; onDisk: number } {
  const bytes = fs.readFileSync(file);
  const id = bytes.toString('ascii', 0, 4);
  assert.ok(id === 'RIFF' || id === 'RF64', `${file} starts with ${JSON.stringify(id)}`);
  let ds64Data: number | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const chunk = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (chunk === 'ds64') ds64Data = Number(bytes.readBigUInt64LE(at + 16));
    if (chunk === 'data') {
      const declared = size === 0xffffffff && ds64Data !== undefined ? ds64Data : size;
      return { offset: at + 8, declared, onDisk: bytes.length - (at + 8) };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file} has no data chunk`);
}

function probeFrames(file: string): number {
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' }));
  return Number(probe.streams[0].duration_ts);
}

function flow(dir: string, tapName = 'recorder') {
  return [
    { id: 'tab', type: 'tab', label: 'record' },
    { id: 'tap', z: 'tab', type: 'tap-source', name: tapName, targetType: 'app', app: 'tone-redeploy', startOnDeploy: true, wires: [['sink'], []] },
    { id: 'sink', z: 'tab', type: 'wav-sink', directory: dir, filename: 'r-{recordingId}.wav', wires: [['written']] },
    { id: 'written', z: 'tab', type: 'debug', active: true, tosidebar: false, console: true, complete: 'payload', wires: [] },
  ];
}

describe('Node-RED redeployed and killed while recording', function () {
  this.timeout(180000);
  let pulse: PulseServer;
  let player: Player;
  let dir: string;

  before(async function () {
    pulse = await startPulse();
    player = playTone('tone-redeploy', 440, { seconds: 120 });
    await waitForStream(player);
  });

  after(async function () {
    await player.stop();
    await pulse.stop();
  });

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-redeploy-'));
  });

  const files = () => fs.readdirSync(dir).filter((name) => name.endsWith('.wav')).map((name) => path.join(dir, name));

  it('20 full redeploys during a capture: every recording is a valid, logged file; deploys do not wait idle; no stream is left', async function () {
    const red = await startNodeRed(flow(dir), { env: { PULSE_SERVER: pulse.server } });
    const took: number[] = [];
    try {
      await waitFor(() => files().length === 1, 10000, 'the first recording').catch((error) => {
        throw new Error(`${error.message}\n${red.log()}`);
      });
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        took.push(await red.deploy(flow(dir), 'full'));
        await waitFor(() => files().length === i + 2, 10000, `recording ${i + 2}`);
        assert.ok(sourceOutputs().length <= 1, `after deploy ${i + 1}, ${sourceOutputs().length} capture streams are open`);
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      await red.stop();
    }
    assert.deepStrictEqual(sourceOutputs(), [], 'a capture stream was left on the server');
    const written = files();
    assert.strictEqual(written.length, 21);
    for (const file of written) {
      const data = dataChunk(file);
      assert.strictEqual(data.declared, data.onDisk, `${file}: the header says ${data.declared} bytes of data, the file holds ${data.onDisk}`);
      assert.ok(data.onDisk > 0, `${file} is empty`);
      assert.strictEqual(probeFrames(file), data.onDisk / 4);
      const logged = red.log().split('\n').filter((line) => line.includes(file) && /wav-sink/.test(line));
      assert.strictEqual(logged.length, 1, `${file} logged ${logged.length} times:\n${logged.join('\n')}`);
    }
    // Before: every deploy waited out a 1 s grace for messages that a stopped flow never routes.
    const sorted = [...took].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    assert.ok(median < 700, `deploys took ${sorted.join(', ')} ms`);
  });

  it('a partial redeploy of tap-source alone: its final message still reaches wav-sink, which finalizes the file as on stop', async function () {
    const red = await startNodeRed(flow(dir), { env: { PULSE_SERVER: pulse.server } });
    try {
      await waitFor(() => files().length === 1, 10000, 'the first recording');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await red.deploy(flow(dir, 'recorder (renamed)'), 'nodes');
      await waitFor(() => files().length === 2, 10000, 'the second recording');
      await waitFor(() => /reason: 'stopped'/.test(red.log()), 5000, 'the first file closed with reason "stopped"');
    } finally {
      await red.stop();
    }
    for (const file of files()) {
      const data = dataChunk(file);
      assert.strictEqual(data.declared, data.onDisk, file);
    }
  });

  it('SIGKILL mid-recording: the header already tells the length of the data on disk, within 1 s', async function () {
    const red = await startNodeRed(flow(dir), { env: { PULSE_SERVER: pulse.server } });
    try {
      await waitFor(() => files().length === 1, 10000, 'the recording');
      await new Promise((resolve) => setTimeout(resolve, 3500));
    } finally {
      await red.kill('SIGKILL');
    }
    const [file] = files();
    const data = dataChunk(file);
    const second = 48000 * 4;
    assert.ok(data.onDisk >= 2 * second, `only ${data.onDisk} bytes reached the disk`);
    assert.ok(data.declared <= data.onDisk && data.onDisk - data.declared <= second, `the header says ${data.declared} bytes, the disk holds ${data.onDisk}`);
    // A reader takes the header's word: ffprobe sees (nearly) all of it.
    assert.ok(data.onDisk / 4 - probeFrames(file) <= 48000);
    // The killed process's capture streams went with it.
    await waitFor(() => sourceOutputs().length === 0, 5000, 'the server to drop the dead client\'s streams');
  });
});

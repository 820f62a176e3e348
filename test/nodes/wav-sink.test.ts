/**
 * wav-sink in a Node-RED runtime (node-red-node-test-helper) with PCM made by the test: file
 * names and suffixes, the timeline (gaps, jumps, backwards positions), rotation, settings,
 * redeploys.
 */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { AudioFormat } from '../../src/format';
import { counterPcm, finalMessage, pcmMessage } from '../helpers/pcm';
import { helper, sinkFlow, t, watch, wavSink } from '../helpers/sink';
import { ffprobe, readWav } from '../helpers/wav';

const S16: AudioFormat = { sampleRate: 48000, channels: 2, encoding: 's16le' };
const MONO8K: AudioFormat = { sampleRate: 8000, channels: 1, encoding: 's16le' };

describe('wav-sink node', function () {
  this.timeout(30000);
  let dir: string;

  beforeEach(function (done) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-sink-'));
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      helper.stopServer(done);
    });
  });

  async function load(config: Record<string, unknown> = {}) {
    await helper.load(wavSink, sinkFlow({ directory: dir, filename: '{app}-{recordingId}.wav', ...config }));
    return { sink: helper.getNode('sink'), w: watch() };
  }

  /** Sends `frames` frames of the counter at `position` in chunks of `chunk` frames. */
  function sendCounter(sink: { receive: (m: unknown) => void }, format: AudioFormat, id: string, position: number, frames: number, chunk = 480, extra: Record<string, unknown> = {}) {
    for (let at = 0; at < frames; at += chunk) {
      const n = Math.min(chunk, frames - at);
      sink.receive(pcmMessage(format, counterPcm(format, position + at, n), id, position + at, extra));
    }
  }

  const final = finalMessage;

  it('writes a recording and reports it: the closed-file message, one log line, status from the catalog', async function () {
    const { sink, w } = await load();
    sendCounter(sink, S16, 'r1', 0, 4800);
    sink.receive(final(S16, 'r1', 4800));
    const msg = await w.nthClosed(1);
    const file = path.join(dir, 'app-r1.wav');
    assert.deepStrictEqual(msg.payload, {
      path: file,
      requestedPath: file,
      recordingId: 'r1',
      frames: 4800,
      seconds: 0.1,
      bytes: 4800 * 4,
      parts: [file],
      sampleRate: 48000,
      channels: 2,
      bitDepth: 16,
      encoding: 's16le',
      gapFrames: 0,
      droppedFrames: 0,
      startPosition: 0,
      reason: 'stopped',
    });
    assert.strictEqual(msg.filename, file);
    assert.strictEqual(msg.topic, 'test', "the first message's other properties are copied");
    const wav = await readWav(file);
    assert.ok(wav.data.equals(counterPcm(S16, 0, 4800)));
    assert.strictEqual(fs.statSync(file).size, wav.dataOffset + wav.data.length, 'header sizes finalized');
    assert.deepStrictEqual(w.logs, [t('wav-sink.log.closed', { path: file, seconds: '0.100' })]);
    assert.ok(w.statuses.some((s) => s.text === 'writing 1'), JSON.stringify(w.statuses));
    assert.deepStrictEqual(w.statuses[w.statuses.length - 1], {});
    assert.deepStrictEqual(w.errors, []);
  });

  it('two recordings in the same second with the default pattern: two files, the second with a suffix', async function () {
    const { sink, w } = await load({ filename: '' }); // '' = the default {app}-{timestamp}.wav
    sink.receive(pcmMessage(S16, counterPcm(S16, 0, 480), 'a', 0));
    sink.receive(pcmMessage(S16, counterPcm(S16, 1000, 480), 'b', 0));
    sink.receive(final(S16, 'a', 480));
    sink.receive(final(S16, 'b', 480));
    await w.nthClosed(2);
    const [a, b] = [...w.closed].sort((x, y) => x.payload.recordingId.localeCompare(y.payload.recordingId));
    assert.match(path.basename(a.payload.path), /^app-\d{8}-\d{6}\.wav$/);
    const timestampA = path.basename(a.payload.path, '.wav');
    const second = a.payload.requestedPath === b.payload.requestedPath;
    if (second) {
      assert.strictEqual(b.payload.path, path.join(dir, `${timestampA}-1.wav`), 'numbered suffix');
      assert.strictEqual(b.payload.requestedPath, a.payload.path, 'the closed message says what was asked for');
    }
    assert.notStrictEqual(a.payload.path, b.payload.path);
    assert.ok((await readWav(a.payload.path)).data.equals(counterPcm(S16, 0, 480)));
    assert.ok((await readWav(b.payload.path)).data.equals(counterPcm(S16, 1000, 480)));
  });

  it('a final message followed at once by the next recording\'s first chunk (same name): two whole files', async function () {
    const { sink, w } = await load({ filename: 'take.wav' });
    sendCounter(sink, S16, 'one', 0, 2400);
    sink.receive(final(S16, 'one', 2400));
    sendCounter(sink, S16, 'two', 0, 1200, 480, {});
    sink.receive(final(S16, 'two', 1200));
    await w.nthClosed(2);
    const byId = Object.fromEntries(w.closed.map((m) => [m.payload.recordingId, m.payload]));
    assert.strictEqual(byId.one.path, path.join(dir, 'take.wav'));
    assert.strictEqual(byId.two.path, path.join(dir, 'take-1.wav'));
    assert.strictEqual(byId.two.requestedPath, path.join(dir, 'take.wav'));
    assert.ok((await readWav(byId.one.path)).data.equals(counterPcm(S16, 0, 2400)));
    assert.ok((await readWav(byId.two.path)).data.equals(counterPcm(S16, 0, 1200)));
    assert.strictEqual(ffprobe(byId.one.path).frames, 2400);
    assert.strictEqual(ffprobe(byId.two.path).frames, 1200);
  });

  it('never truncates: a file that exists stays as it is, the recording gets a suffix', async function () {
    fs.writeFileSync(path.join(dir, 'keep.wav'), 'precious');
    const { sink, w } = await load({ filename: 'keep.wav' });
    sendCounter(sink, S16, 'k', 0, 480);
    sink.receive(final(S16, 'k', 480));
    const msg = await w.nthClosed(1);
    assert.strictEqual(fs.readFileSync(path.join(dir, 'keep.wav'), 'utf8'), 'precious');
    assert.strictEqual(msg.payload.path, path.join(dir, 'keep-1.wav'));
  });

  it('two wav-sinks of the process asking for one name: two files', async function () {
    await helper.load(wavSink, [
      { id: 'sink', type: 'wav-sink', directory: dir, filename: 'shared.wav', wires: [['closed']] },
      { id: 'sink2', type: 'wav-sink', directory: dir, filename: 'shared.wav', wires: [['closed']] },
      { id: 'closed', type: 'helper' },
    ]);
    const w = watch();
    const s1 = helper.getNode('sink');
    const s2 = helper.getNode('sink2');
    sendCounter(s1, S16, 'x', 0, 960);
    sendCounter(s2, S16, 'y', 5000, 960);
    s1.receive(final(S16, 'x', 960));
    s2.receive(final(S16, 'y', 5960));
    await w.nthClosed(2);
    assert.deepStrictEqual(w.closed.map((m) => path.basename(m.payload.path)).sort(), ['shared-1.wav', 'shared.wav']);
    for (const m of w.closed) {
      const expected = m.payload.recordingId === 'x' ? counterPcm(S16, 0, 960) : counterPcm(S16, 5000, 960);
      assert.ok((await readWav(m.payload.path)).data.equals(expected));
    }
  });

  it('a symbolic link to a directory outside: refused with a clear error, nothing written outside', async function () {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-outside-'));
    try {
      fs.symlinkSync(outside, path.join(dir, 'out'), 'dir');
      const { sink, w } = await load({ filename: 'out/sub/escape.wav' });
      sendCounter(sink, S16, 's', 0, 960);
      const error = await w.nthError(1);
      assert.match(error, /leads to .* \(a symbolic link\), outside the directory/);
      sink.receive(final(S16, 's', 960));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.strictEqual(w.errors.length, 1, 'reported once');
      assert.deepStrictEqual(fs.readdirSync(outside), [], 'nothing created outside, not even a directory');
      assert.strictEqual(w.closed.length, 0);
      assert.deepStrictEqual(w.statuses[w.statuses.length - 1], { fill: 'red', shape: 'ring', text: t('wav-sink.status.outside') });
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a symbolic link as the file name: not followed (the target is untouched), the recording gets a suffix', async function () {
    const outside = path.join(os.tmpdir(), `wav-target-${process.pid}.txt`);
    fs.writeFileSync(outside, 'target');
    try {
      fs.symlinkSync(outside, path.join(dir, 'link.wav'));
      const { sink, w } = await load({ filename: 'link.wav' });
      sendCounter(sink, S16, 'l', 0, 480);
      sink.receive(final(S16, 'l', 480));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.path, path.join(dir, 'link-1.wav'));
      assert.strictEqual(fs.readFileSync(outside, 'utf8'), 'target');
    } finally {
      fs.rmSync(outside, { force: true });
    }
  });

  describe('timeline', function () {
    it('a jump in position within the limit: exactly that much silence', async function () {
      const { sink, w } = await load({ maxGap: '1' });
      sendCounter(sink, MONO8K, 'g', 0, 800, 160);
      sendCounter(sink, MONO8K, 'g', 800 + 1234, 400, 160); // 1234 frames dropped upstream
      sink.receive(final(MONO8K, 'g', 2434));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.gapFrames, 1234);
      assert.strictEqual(msg.payload.frames, 800 + 1234 + 400);
      const wav = await readWav(msg.payload.path);
      const expected = Buffer.concat([counterPcm(MONO8K, 0, 800), Buffer.alloc(1234 * 2), counterPcm(MONO8K, 2034, 400)]);
      assert.ok(wav.data.equals(expected));
      assert.deepStrictEqual(w.warnings, []);
    });

    it('chunks dropped just before the end: the final message\'s position fills the file to the end of the timeline', async function () {
      const { sink, w } = await load({ maxGap: '1' });
      sendCounter(sink, MONO8K, 'e', 0, 800, 160);
      sink.receive(final(MONO8K, 'e', 800 + 480)); // the last 480 frames were dropped upstream
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.gapFrames, 480);
      assert.strictEqual(msg.payload.frames, 1280);
      const wav = await readWav(msg.payload.path);
      assert.ok(wav.data.equals(Buffer.concat([counterPcm(MONO8K, 0, 800), Buffer.alloc(480 * 2)])));
    });

    it('jumps beyond the limit: not filled, one warning per file', async function () {
      const { sink, w } = await load({ maxGap: 0.5 });
      sendCounter(sink, MONO8K, 'j', 0, 800, 160);
      sendCounter(sink, MONO8K, 'j', 800 + 8000, 160, 160); // 1 s jump > 0.5 s
      sendCounter(sink, MONO8K, 'j', 8960 + 16000, 160, 160); // 2 s jump
      sink.receive(final(MONO8K, 'j', 25120));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.gapFrames, 0);
      assert.strictEqual(msg.payload.frames, 800 + 160 + 160);
      const wav = await readWav(msg.payload.path);
      assert.ok(wav.data.equals(Buffer.concat([counterPcm(MONO8K, 0, 800), counterPcm(MONO8K, 8800, 160), counterPcm(MONO8K, 24960, 160)])));
      assert.strictEqual(w.warnings.length, 1, w.warnings.join('\n'));
      assert.match(w.warnings[0], /position jumped 1\.000 s at frame 8800, more than the 0\.5 s filled with silence: not filled/);
    });

    it('backwards positions: written contiguously, one warning', async function () {
      const { sink, w } = await load();
      sendCounter(sink, MONO8K, 'b', 0, 320, 160);
      sendCounter(sink, MONO8K, 'b', 100, 160, 160); // starts 220 frames before the end
      sendCounter(sink, MONO8K, 'b', 50, 160, 160);
      sink.receive(final(MONO8K, 'b', 210));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.frames, 640);
      const wav = await readWav(msg.payload.path);
      assert.ok(wav.data.equals(Buffer.concat([counterPcm(MONO8K, 0, 320), counterPcm(MONO8K, 100, 160), counterPcm(MONO8K, 50, 160)])));
      assert.strictEqual(w.warnings.length, 1);
      assert.match(w.warnings[0], /position went back 220 frames at frame 100/);
    });

    it('a file starts at the position of its first message (a sink deployed mid-recording): no fill from 0', async function () {
      const { sink, w } = await load();
      sendCounter(sink, MONO8K, 'm', 96000, 800, 160);
      sink.receive(final(MONO8K, 'm', 96800));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.frames, 800);
      assert.strictEqual(msg.payload.startPosition, 96000);
      assert.strictEqual(msg.payload.gapFrames, 0);
    });

    it('the final message of a recording it has no file of (partial redeploy): no file', async function () {
      const { sink, w } = await load();
      sink.receive(final(S16, 'elsewhere', 123456));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepStrictEqual(fs.readdirSync(dir), []);
      assert.deepStrictEqual([w.closed.length, w.errors.length], [0, 0]);
    });
  });

  describe('rotation', function () {
    it('by size ("0.05" MiB): {part} added before the extension, parts at most the size, seams sample-exact', async function () {
      const { sink, w } = await load({ filename: 'rot.wav', rotateMiB: '0.05' });
      const limit = Math.floor(0.05 * 1024 * 1024);
      const perPart = Math.floor((limit - 80) / 4);
      const frames = perPart * 2 + 1000;
      sendCounter(sink, S16, 'rot', 0, frames, 1111);
      sink.receive(final(S16, 'rot', frames));
      const msg = await w.nthClosed(1);
      assert.deepStrictEqual(msg.payload.parts.map((p) => path.basename(p)), ['rot-1.wav', 'rot-2.wav', 'rot-3.wav']);
      assert.strictEqual(msg.payload.path, msg.payload.parts[0]);
      assert.strictEqual(msg.payload.frames, frames);
      assert.deepStrictEqual(msg.payload.parts.map((p) => fs.statSync(p).size), [80 + perPart * 4, 80 + perPart * 4, 80 + 1000 * 4]);
      const data = Buffer.concat(await Promise.all(msg.payload.parts.map(async (p) => (await readWav(p)).data)));
      assert.ok(data.equals(counterPcm(S16, 0, frames)), 'concatenated parts = input');
      assert.strictEqual(w.logs.length, 3, 'one log line per part closed');
    });

    it('by time (0.01 min = 0.6 s) with {part} in the pattern: every part the same length', async function () {
      const { sink, w } = await load({ filename: 'min-{part}-{recordingId}.wav', rotateMinutes: 0.01 });
      sendCounter(sink, MONO8K, 'tm', 0, 4800 * 3 + 7, 1000);
      sink.receive(final(MONO8K, 'tm', 14407));
      const msg = await w.nthClosed(1);
      assert.deepStrictEqual(msg.payload.parts.map((p) => path.basename(p)), ['min-1-tm.wav', 'min-2-tm.wav', 'min-3-tm.wav', 'min-4-tm.wav']);
      assert.deepStrictEqual(msg.payload.parts.map((p) => ffprobe(p).frames), [4800, 4800, 4800, 7]);
      const data = Buffer.concat(await Promise.all(msg.payload.parts.map(async (p) => (await readWav(p)).data)));
      assert.ok(data.equals(counterPcm(MONO8K, 0, 14407)));
    });
  });

  describe('settings', function () {
    for (const [name, value] of [
      ['rotateMinutes', 'ten'],
      ['rotateMiB', '-5'],
      ['maxGap', '0xBB80'],
      ['maxGap', [5]],
      ['maxGap', '4e3'],
      ['maxGap', 'NaN'],
      ['rotateMiB', 0.001],
      ['maxGap', true],
    ] as Array<[string, unknown]>) {
      it(`${name} = ${JSON.stringify(value)}: a clear error on the node, messages refused`, async function () {
        const { sink, w } = await load({ [name]: value });
        const expected = `got ${JSON.stringify(value)}`;
        // Reported when the node starts…
        const logged = helper.log().args.map((a: Array<{ level: number; type: string; msg: unknown }>) => a[0]).filter((e: { level: number; type: string }) => e.type === 'wav-sink' && e.level === helper.log().ERROR);
        assert.strictEqual(logged.length, 1);
        assert.match(String(logged[0].msg), /^wav-sink settings: (rotate every \(minutes\)|rotate at \(MiB\)|fill gaps up to \(seconds\)): expected /);
        assert.ok(String(logged[0].msg).endsWith(expected), String(logged[0].msg));
        // …and every message is refused with it.
        const statuses: Array<{ text?: string }> = [];
        sink.on('call:status', (c: { args: Array<{ text?: string }> }) => statuses.push(c.args[0]));
        sink.receive(pcmMessage(S16, counterPcm(S16, 0, 480), 'c', 0));
        const error = await w.nthError(1);
        assert.ok(error.endsWith(expected), error);
        assert.strictEqual(statuses[statuses.length - 1].text, t('wav-sink.status.config'));
        assert.deepStrictEqual(fs.readdirSync(dir), []);
      });
    }

    it('numbers and numeric strings are taken', async function () {
      const { sink, w } = await load({ rotateMinutes: '0', rotateMiB: '', maxGap: ' 25e-1 ' });
      sendCounter(sink, MONO8K, 'n', 0, 160, 160);
      sendCounter(sink, MONO8K, 'n', 160 + 16000, 160, 160); // 2 s ≤ 2.5 s: filled
      sink.receive(final(MONO8K, 'n', 16320));
      const msg = await w.nthClosed(1);
      assert.strictEqual(msg.payload.gapFrames, 16000);
      assert.deepStrictEqual(w.errors, []);
    });
  });

  it('redeployed 20 times while recording: 20 whole files, each logged once, each stop quick', async function () {
    const flow = sinkFlow({ directory: dir, filename: 'deploy-{recordingId}.wav' });
    await helper.load(wavSink, flow);
    const events = helper._events as NodeJS.EventEmitter;
    const stops: number[] = [];
    let stopping = 0;
    const onStopping = () => (stopping = Date.now());
    const onStopped = () => stops.push(Date.now() - stopping);
    events.on('flows:stopping', onStopping);
    events.on('flows:stopped', onStopped);
    const logs: string[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const sink = helper.getNode('sink');
        sink.on('call:log', (call: { args: unknown[] }) => logs.push(String(call.args[0])));
        sendCounter(sink, S16, `d${i}`, 1000 * i, 4800, 960);
        // A full redeploy: the runtime stops every node (close) and starts the new flow.
        await helper.setFlows(flow.map((n) => ({ ...n })), 'full');
      }
    } finally {
      events.off('flows:stopping', onStopping);
      events.off('flows:stopped', onStopped);
    }
    const files = fs.readdirSync(dir).sort();
    assert.strictEqual(files.length, 20, files.join(' '));
    for (let i = 0; i < 20; i++) {
      const file = path.join(dir, `deploy-d${i}.wav`);
      const wav = await readWav(file);
      assert.ok(wav.data.equals(counterPcm(S16, 1000 * i, 4800)), `file ${i}`);
      assert.strictEqual(logs.filter((l) => l === t('wav-sink.log.closed', { path: file, seconds: '0.100' })).length, 1, `file ${i} logged once`);
    }
    assert.strictEqual(logs.length, 20);
    assert.strictEqual(stops.length, 20);
    assert.ok(Math.max(...stops) < 300, `stops took ${stops.join(', ')} ms`);
  });
});

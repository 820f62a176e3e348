/**
 * The example "Record over HTTP" in a whole Node-RED process, unchanged, answering real HTTP
 * requests, against a real PulseAudio server with two players.
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { Player, playTone, PulseServer, startPulse, waitForStream } from './helpers/pulse';
import { NodeRedProcess, readExample, startNodeRed } from './helpers/nodered';
import { readWav } from './helpers/wav';

describe('example "Record over HTTP"', function () {
  this.timeout(60000);
  let pulse: PulseServer;
  let a: Player;
  let b: Player;
  let red: NodeRedProcess;
  let recordings: string;

  function post(body: string | object, query = '', headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${red.url}record${query}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  function filesNow(): string[] {
    return fs.existsSync(recordings) ? fs.readdirSync(recordings).sort() : [];
  }

  before(async function () {
    pulse = await startPulse();
    a = playTone('tone-a', 440);
    b = playTone('tone-b', 1000);
    await Promise.all([waitForStream(a), waitForStream(b)]);
    red = await startNodeRed(readExample('Record over HTTP'));
    recordings = path.join(red.userDir, 'recordings');
  });

  after(async function () {
    await red?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await pulse?.stop();
  });

  it('GET /apps lists the playing apps', async function () {
    const res = await fetch(`${red.url}apps`);
    assert.strictEqual(res.status, 200);
    const apps = (await res.json()) as Array<{ pid: number; name: string; playing: boolean }>;
    for (const player of [a, b]) {
      const app = apps.find((x) => x.pid === player.pid);
      assert.ok(app, `${player.name} (PID ${player.pid}) in ${JSON.stringify(apps)}`);
      assert.strictEqual(app.name, player.name);
      assert.strictEqual(app.playing, true);
    }
  });

  it('POST /record answers the file details; the file is the asked app for the asked length', async function () {
    const res = await post({ app: 'tone-b', seconds: 1.5, filename: 'http-b.wav' });
    assert.strictEqual(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const details = (await res.json()) as Record<string, number | string>;
    assert.strictEqual(details.path, path.join(recordings, 'http-b.wav'));
    assert.strictEqual(details.reason, 'stopped');
    assert.strictEqual(details.sampleRate, 48000);
    const wav = await readWav(details.path as string);
    const seconds = wav.data.length / 4 / 48000;
    assert.ok(Math.abs(seconds - 1.5) <= 0.02, `${seconds} s recorded, 1.5 s asked`);
    assert.strictEqual(details.frames, wav.data.length / 4);
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    const lb = medianToneAmplitude(x, 1000, 48000);
    assert.ok(Math.abs(db(lb, 0.5)) < 1, `tone-b's 1000 Hz at ${db(lb).toFixed(1)} dBFS`);
    assert.ok(db(medianToneAmplitude(x, 440, 48000), lb) < -40, "tone-a's 440 Hz is not in the file");
  });

  it('POST /record?format=wav answers the WAV itself; an app by PID', async function () {
    const res = await post({ app: a.pid, seconds: 1 }, '?format=wav');
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers.get('content-type'), 'audio/wav');
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="\d+-\d{8}-\d{6}\.wav"/);
    const bytes = Buffer.from(await res.arrayBuffer());
    const wav = await readWav(bytes);
    assert.strictEqual(bytes.length, wav.dataOffset + wav.data.length, 'a finalized header');
    assert.ok(Math.abs(wav.data.length / 4 / 48000 - 1) <= 0.02);
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    assert.ok(Math.abs(db(medianToneAmplitude(x, 440, 48000), 0.5)) < 1, "tone-a's 440 Hz");
    // The same bytes are kept in the recordings directory.
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition')!)![1];
    assert.ok(fs.readFileSync(path.join(recordings, name)).equals(bytes));
  });

  it('"Accept: audio/wav" answers the WAV too', async function () {
    const res = await post({ app: 'tone-a', seconds: 0.5 }, '', { Accept: 'audio/wav' });
    assert.strictEqual(res.headers.get('content-type'), 'audio/wav');
    const wav = await readWav(Buffer.from(await res.arrayBuffer()));
    assert.ok(Math.abs(wav.data.length / 4 / 48000 - 0.5) <= 0.02);
  });

  describe('bad input: a clear error answer, no crash, no stray file', function () {
    async function refused(body: string | object, status: number, pattern: RegExp): Promise<void> {
      const before = filesNow();
      const res = await post(body);
      const text = await res.text();
      assert.strictEqual(res.status, status, text);
      const answer = JSON.parse(text) as { error: string };
      assert.match(answer.error, pattern);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepStrictEqual(filesNow(), before);
    }

    it('malformed JSON: 400', async function () {
      await refused('{"app": "tone-a", "seconds": ', 400, /not valid JSON/);
    });

    it('no app, or not an object: 400', async function () {
      await refused({ seconds: 2 }, 400, /app: expected the name or PID/);
      await refused('[1, 2]', 400, /expected a JSON object/);
    });

    it('an unknown app: 404', async function () {
      await refused({ app: 'no-such-app', seconds: 1 }, 404, /no running app is named "no-such-app"/);
    });

    it('negative, missing or absurd seconds: 400', async function () {
      await refused({ app: 'tone-a', seconds: -1 }, 400, /seconds: expected a number of seconds above 0/);
      await refused({ app: 'tone-a' }, 400, /seconds: expected/);
      await refused({ app: 'tone-a', seconds: 'soon' }, 400, /seconds: expected/);
    });

    it('a file name that escapes the directory: 400, nothing written outside', async function () {
      await refused({ app: 'tone-a', seconds: 1, filename: '../escaped.wav' }, 400, /filename: expected a plain file name/);
      await refused({ app: 'tone-a', seconds: 1, filename: '/tmp/escaped.wav' }, 400, /filename/);
      assert.ok(!fs.existsSync(path.join(red.userDir, 'escaped.wav')));
      assert.ok(!fs.existsSync('/tmp/escaped.wav'));
    });

    it('a second request while one records: 409; the first one is answered', async function () {
      const first = post({ app: 'tone-a', seconds: 1.5, filename: 'http-first.wav' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await post({ app: 'tone-b', seconds: 1, filename: 'http-second.wav' });
      assert.strictEqual(second.status, 409);
      assert.match(((await second.json()) as { error: string }).error, /already recording tone-a/);
      const details = (await (await first).json()) as { path: string; seconds: number };
      assert.strictEqual(path.basename(details.path), 'http-first.wav');
      assert.ok(!filesNow().includes('http-second.wav'));
    });

    after(function () {
      assert.ok(red.running(), `Node-RED exited:\n${red.log()}`);
    });
  });
});

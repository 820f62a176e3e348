/**
 * The example "Record over MQTT" in a whole Node-RED process, against a real mosquitto broker
 * on a loopback port and a real PulseAudio server, driven by a real MQTT client. The only
 * change made to the example is the broker's address, as a user would make it.
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import mqtt, { MqttClient } from 'mqtt';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { Player, playTone, PulseServer, startPulse, waitFor, waitForStream } from './helpers/pulse';
import { startBroker } from './helpers/mqtt';
import { NodeRedProcess, readExample, startNodeRed } from './helpers/nodered';
import { readWav } from './helpers/wav';

type Status = Record<string, unknown> & { state: string };

describe('example "Record over MQTT" with mosquitto', function () {
  this.timeout(60000);
  let pulse: PulseServer;
  let a: Player;
  let b: Player;
  let broker: { port: number; stop(): Promise<void> };
  let red: NodeRedProcess;
  let client: MqttClient;
  let statuses: Status[] = [];
  let recordings: string;

  /** Resolves with the first status (from now on) that matches. */
  async function next(match: (s: Status) => boolean, what: string, timeoutMs = 15000): Promise<Status> {
    const from = statuses.length;
    let found: Status | undefined;
    await waitFor(() => (found = statuses.slice(from).find(match)) !== undefined, timeoutMs, `${what}; statuses: ${JSON.stringify(statuses.slice(from))}`);
    return found!;
  }

  function publish(message: string | object): void {
    client.publish('audio-tap/record', typeof message === 'string' ? message : JSON.stringify(message), { qos: 1 });
  }

  before(async function () {
    pulse = await startPulse();
    a = playTone('tone-a', 440);
    b = playTone('tone-b', 1000);
    await Promise.all([waitForStream(a), waitForStream(b)]);
    broker = await startBroker();
    const nodes = readExample('Record over MQTT').map((node) =>
      node.type === 'mqtt-broker' ? { ...node, broker: '127.0.0.1', port: String(broker.port) } : node,
    );
    red = await startNodeRed(nodes);
    recordings = path.join(red.userDir, 'recordings');
    await waitFor(() => /Connected to broker/.test(red.log()), 10000, 'Node-RED to connect to the broker');
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    client.on('message', (_topic, payload) => statuses.push(JSON.parse(String(payload))));
    await client.subscribeAsync('audio-tap/status', { qos: 1 });
  });

  after(async function () {
    await client?.endAsync();
    await red?.stop();
    await broker?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await pulse?.stop();
  });

  beforeEach(function () {
    statuses = [];
  });

  it('a start message records the named app for its seconds; progress, stop and the file go to the status topic', async function () {
    publish({ app: 'tone-a', seconds: 2, filename: 'mqtt-a.wav' });
    const saved = await next((s) => s.state === 'saved', 'the file to be saved');
    assert.strictEqual(saved.path, path.join(recordings, 'mqtt-a.wav'));
    assert.strictEqual(saved.file, 'mqtt-a.wav');
    assert.ok(Math.abs((saved.seconds as number) - 2) <= 0.02, `saved ${saved.seconds} s`);

    const wav = await readWav(saved.path as string);
    assert.strictEqual(wav.format.sampleRate, 48000);
    assert.strictEqual(wav.data.length / 4, saved.frames);
    const x = channelSamples(wav.data, 's16le', 2).subarray(4800);
    const la = medianToneAmplitude(x, 440, 48000);
    assert.ok(Math.abs(db(la, 0.5)) < 1, `tone-a's 440 Hz at ${db(la).toFixed(1)} dBFS`);
    assert.ok(db(medianToneAmplitude(x, 1000, 48000), la) < -40, "tone-b's 1000 Hz is not in the file");

    const states = statuses.map((s) => s.state);
    assert.ok(states.indexOf('recording') < states.indexOf('stopped'), states.join(' '));
    assert.ok(states.indexOf('stopped') < states.indexOf('saved'), states.join(' '));
    const progress = statuses.filter((s) => s.state === 'recording' && (s.seconds as number) > 0);
    assert.ok(progress.length >= 1 && progress.length <= 2, `one progress message a second: ${JSON.stringify(progress)}`);
    for (const p of progress) {
      assert.strictEqual(p.app, 'tone-a');
      // A sine of peak 0.5: −6.0 dBFS peak, −9.0 dBFS RMS, on both channels.
      for (const peak of p.peak as number[]) assert.ok(Math.abs(peak - -6.02) < 0.5, `peak ${peak} dBFS`);
      for (const rms of p.rms as number[]) assert.ok(Math.abs(rms - -9.03) < 0.5, `rms ${rms} dBFS`);
    }
    const stopped = statuses.find((s) => s.state === 'stopped')!;
    assert.strictEqual(stopped.reason, 'stopped');
    assert.strictEqual(stopped.droppedChunks, 0);
  });

  it('"stop" ends a recording started without seconds', async function () {
    publish({ app: String(b.pid), filename: 'mqtt-b.wav' });
    await next((s) => s.state === 'recording' && (s.seconds as number) >= 1, 'a progress message');
    publish('stop');
    const saved = await next((s) => s.state === 'saved', 'the file to be saved');
    assert.strictEqual(saved.path, path.join(recordings, 'mqtt-b.wav'));
    assert.ok((saved.seconds as number) >= 1 && (saved.seconds as number) < 5, `saved ${saved.seconds} s`);
    const x = channelSamples((await readWav(saved.path as string)).data, 's16le', 2).subarray(4800);
    assert.ok(Math.abs(db(medianToneAmplitude(x, 1000, 48000), 0.5)) < 1, "tone-b's 1000 Hz");
  });

  describe('bad input: an error status, no crash, no stray file', function () {
    function filesNow(): string[] {
      return fs.existsSync(recordings) ? fs.readdirSync(recordings).sort() : [];
    }

    it('malformed JSON', async function () {
      const before = filesNow();
      publish('{"app": "tone-a", "seconds": ');
      const status = await next((s) => s.state === 'error', 'an error status');
      assert.match(status.error as string, /not valid JSON/);
      assert.deepStrictEqual(filesNow(), before);
    });

    it('an unknown app', async function () {
      const before = filesNow();
      publish({ app: 'no-such-app', seconds: 1 });
      const status = await next((s) => s.state === 'error', 'an error status');
      assert.match(status.error as string, /no running app is named "no-such-app"/);
      assert.strictEqual(status.code, 'ENOAPP');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepStrictEqual(filesNow(), before);
    });

    it('negative seconds', async function () {
      const before = filesNow();
      publish({ app: 'tone-a', seconds: -5 });
      const status = await next((s) => s.state === 'error', 'an error status');
      assert.match(status.error as string, /seconds: expected a number of seconds above 0/);
      assert.deepStrictEqual(filesNow(), before);
    });

    it('a file name that escapes the directory', async function () {
      const before = filesNow();
      const escaped = path.join(red.userDir, 'escaped.wav');
      publish({ app: 'tone-a', seconds: 1, filename: '../escaped.wav' });
      const status = await next((s) => s.state === 'error', 'an error status');
      assert.match(status.error as string, /filename: expected a plain file name/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(!fs.existsSync(escaped));
      assert.deepStrictEqual(filesNow(), before);
    });

    it('a start while recording is refused; the running recording is kept', async function () {
      publish({ app: 'tone-a', seconds: 1.5, filename: 'mqtt-first.wav' });
      await next((s) => s.state === 'recording', 'the recording to start');
      publish({ app: 'tone-b', seconds: 1, filename: 'mqtt-second.wav' });
      const status = await next((s) => s.state === 'error', 'an error status');
      assert.match(status.error as string, /already recording tone-a/);
      assert.strictEqual(status.code, 'EBUSY');
      const saved = await next((s) => s.state === 'saved', 'the first file');
      assert.strictEqual(saved.file, 'mqtt-first.wav');
      assert.ok(!filesNow().includes('mqtt-second.wav'));
    });

    after(function () {
      assert.ok(red.running(), `Node-RED exited:\n${red.log()}`);
    });
  });
});

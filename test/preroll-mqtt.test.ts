/**
 * The example "Save the last 30 s when a message arrives on MQTT" in a whole Node-RED process,
 * against a real mosquitto broker and a real PulseAudio server, driven by a real MQTT client.
 * Changed from the example: the broker's address, and (to keep the test short) the kept and
 * after seconds, 3 and 1 instead of 30 and 10, as a user would change them.
 */
import assert from 'assert';
import path from 'path';
import mqtt, { MqttClient } from 'mqtt';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { Player, playTone, PulseServer, startPulse, waitFor, waitForRendering } from './helpers/pulse';
import { Broker, startBroker } from './helpers/mqtt';
import { NodeRedProcess, readExample, startNodeRed } from './helpers/nodered';
import { readWav } from './helpers/wav';

type Answer = Record<string, unknown> & { state: string };

describe('example "Save the last 30 s when a message arrives on MQTT" with mosquitto', function () {
  this.timeout(60000);
  let pulse: PulseServer;
  let tone: Player;
  let broker: Broker;
  let red: NodeRedProcess;
  let client: MqttClient;
  const answers: Answer[] = [];
  let deployed = 0;

  async function next(match: (s: Answer) => boolean, what: string, timeoutMs = 15000): Promise<Answer> {
    const from = answers.length;
    let found: Answer | undefined;
    await waitFor(() => (found = answers.slice(from).find(match)) !== undefined, timeoutMs, `${what}; answers: ${JSON.stringify(answers.slice(from))}`);
    return found!;
  }

  before(async function () {
    pulse = await startPulse();
    tone = playTone('tone-saved', 440, { seconds: 60 });
    await waitForRendering(tone);
    broker = await startBroker();
    const nodes = readExample('Save the last 30 s when a message arrives on MQTT').map((node) => {
      if (node.type === 'mqtt-broker') return { ...node, broker: '127.0.0.1', port: String(broker.port) };
      if (node.type === 'pre-roll') return { ...node, seconds: 3, after: 1 };
      return node;
    });
    red = await startNodeRed(nodes);
    deployed = Date.now();
    await waitFor(() => /Connected to broker/.test(red.log()), 10000, 'Node-RED to connect to the broker');
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    client.on('message', (_topic, payload) => answers.push(JSON.parse(String(payload))));
    await client.subscribeAsync('audio-tap/saved', { qos: 1 });
  });

  after(async function () {
    await client?.endAsync();
    await red?.stop();
    await broker?.stop();
    await tone?.stop();
    await pulse?.stop();
  });

  it('"save" writes the kept 3 s before it and 1 s after: the tone from the first sample; {"after", "filename"} too; bad input is answered', async function () {
    // Enough kept: the system mix has been recorded since deploy.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4500 - (Date.now() - deployed))));
    client.publish('audio-tap/save', 'save', { qos: 1 });
    const saved = await next((s) => s.state === 'saved', 'the file to be saved');
    assert.strictEqual(path.dirname(saved.path as string), path.join(red.userDir, 'recordings'));
    assert.strictEqual(saved.seconds, 4, `saved ${saved.seconds} s`);
    assert.strictEqual(saved.droppedFrames, 0);
    const wav = await readWav(saved.path as string);
    assert.strictEqual(wav.data.length / 4, 4 * 48000);
    const x = channelSamples(wav.data, 's16le', 2);
    const head = medianToneAmplitude(x.subarray(0, 4800), 440, 48000, 20);
    assert.ok(Math.abs(db(head, 0.5)) < 1, `the tone from the first 100 ms: ${db(head).toFixed(1)} dBFS`);
    assert.ok(Math.abs(db(medianToneAmplitude(x, 440, 48000), 0.5)) < 1);

    client.publish('audio-tap/save', JSON.stringify({ after: 0.5, filename: 'door.wav' }), { qos: 1 });
    const door = await next((s) => s.state === 'saved', 'door.wav to be saved');
    assert.strictEqual(door.path, path.join(red.userDir, 'recordings', 'door.wav'));
    assert.strictEqual(door.seconds, 3.5);

    client.publish('audio-tap/save', JSON.stringify({ after: -1 }), { qos: 1 });
    const refused = await next((s) => s.state === 'error', 'the refusal');
    assert.match(String(refused.error), /after: expected seconds/);
  });
});

/**
 * Every example in examples/, in a whole Node-RED process: a comment node that says how to use it, only core nodes and
 * this package's, and all of them deploy together in a whole Node-RED (no missing type, no
 * id clash), as Import › Examples would bring them in.
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { channelSamples, db, medianToneAmplitude } from './helpers/signal';
import { Player, playTone, PulseServer, startPulse, waitFor, waitForRendering } from './helpers/pulse';
import { readWav } from './helpers/wav';
import { NodeRedProcess, onTab, PROJECT_ROOT, readExample, startNodeRed } from './helpers/nodered';

const titles = fs
  .readdirSync(path.join(PROJECT_ROOT, 'examples'))
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.replace(/\.json$/, ''));

describe('examples in a whole Node-RED', function () {
  this.timeout(60000);
  let pulse: PulseServer;
  let red: NodeRedProcess;
  /** Node types by the module that provides them. */
  let moduleOf: Map<string, string>;

  before(async function () {
    pulse = await startPulse();
    const flows = titles.flatMap((title, i) => onTab(`audio-tap-example-${i}`, title, readExample(title)));
    red = await startNodeRed(flows);
    const res = await fetch(`${red.url}nodes`, { headers: { Accept: 'application/json' } });
    const sets = (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>;
    moduleOf = new Map(sets.filter((set) => set.enabled && !set.err).flatMap((set) => set.types.map((type) => [type, set.module] as [string, string])));
  });

  after(async function () {
    await red?.stop();
    await pulse?.stop();
  });

  it('there are the HTTP, MQTT, list-apps and system-mix examples', function () {
    for (const title of ['Record over HTTP', 'Record over MQTT', 'List apps', 'System mix minus apps']) {
      assert.ok(titles.includes(title), `${title} in ${titles.join(', ')}`);
    }
  });

  for (const title of titles) {
    it(`"${title}": a comment node with instructions; only core nodes and ours`, function () {
      const nodes = readExample(title);
      const comment = nodes.find((node) => node.type === 'comment');
      assert.ok(comment && typeof comment.info === 'string' && comment.info.length > 100, 'a comment node whose info says how to use it');
      const ids = nodes.map((node) => node.id);
      assert.strictEqual(new Set(ids).size, ids.length, 'unique ids');
      for (const node of nodes) {
        const module = moduleOf.get(node.type as string);
        assert.ok(module === 'node-red' || module === 'node-red-contrib-audio-tap', `${node.type} comes from ${module}`);
      }
    });
  }

  it('all examples deploy together: no missing type, the flows start', function () {
    assert.doesNotMatch(red.log(), /Waiting for missing types/);
    assert.match(red.log(), /Started flows/);
    assert.ok(red.running());
  });
});

describe('example "System mix minus apps", run with its inject buttons', function () {
  this.timeout(60000);
  let pulse: PulseServer;
  let a: Player;
  let b: Player;
  let red: NodeRedProcess;

  before(async function () {
    pulse = await startPulse();
    a = playTone('tone-a', 440);
    b = playTone('tone-b', 1000);
    // Not just their sink-inputs: the audio on a monitor. The idle null sink renders the first
    // ~2 s of a new stream ahead, out of any monitor's reach (waitForRendering says more);
    // a recording started in that block lost up to a second, one run in three.
    await Promise.all([waitForRendering(a), waitForRendering(b)]);
    // The one change a user makes: which app to leave out.
    const nodes = readExample('System mix minus apps').map((node) => (node.type === 'tap-source' ? { ...node, exclude: 'tone-b' } : node));
    red = await startNodeRed(nodes);
  });

  after(async function () {
    await red?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
    await pulse?.stop();
  });

  it('start, stop: a WAV of the mix without the excluded app', async function () {
    const nodes = readExample('System mix minus apps');
    const inject = (name: string) => nodes.find((node) => node.type === 'inject' && node.name === name)!.id as string;
    const press = (name: string) => fetch(`${red.url}inject/${inject(name)}`, { method: 'POST' }).then((res) => assert.strictEqual(res.status, 200));
    await press('start');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await press('stop');
    const recordings = path.join(red.userDir, 'recordings');
    let files: string[] = [];
    await waitFor(() => (files = fs.existsSync(recordings) ? fs.readdirSync(recordings) : []).length > 0, 10000, 'the file');
    // wav-sink finalizes the header when the recording's last message arrives, just after.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.strictEqual(files.length, 1, files.join(', '));
    assert.match(files[0], /^system-mix-\d{8}-\d{6}\.wav$/);
    const wav = await readWav(path.join(recordings, files[0]));
    // Two seconds between the presses: all of it, give or take a chunk and the HTTP round trips.
    assert.ok(wav.data.length / 4 / 48000 > 1.8, `${wav.data.length / 4 / 48000} s`);
    const x = channelSamples(wav.data, 's16le', 2).subarray(9600);
    const la = medianToneAmplitude(x, 440, 48000);
    assert.ok(Math.abs(db(la, 0.5)) < 1, `tone-a's 440 Hz at ${db(la).toFixed(1)} dBFS`);
    assert.ok(db(medianToneAmplitude(x, 1000, 48000), la) < -40, "the excluded tone-b's 1000 Hz is not in the mix");
  });
});

/**
 * Every example in examples/: a comment node that says how to use it, only core nodes and
 * this package's, and all of them deploy together in a whole Node-RED (no missing type, no
 * id clash), as Import › Examples would bring them in.
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { PulseServer, startPulse } from './helpers/pulse';
import { NodeRedProcess, onTab, PROJECT_ROOT, readExample, startNodeRed } from './helpers/nodered';

const titles = fs
  .readdirSync(path.join(PROJECT_ROOT, 'examples'))
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.replace(/\.json$/, ''));

describe('examples', function () {
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

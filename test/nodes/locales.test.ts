/**
 * Every text a node shows comes from its message catalog (nodes/<name>/locales/en-US/<name>.json),
 * as in Node-RED's core nodes: no status() call with a literal text, and every catalog key the
 * runtime code names exists (Node-RED would show a missing key as the key itself).
 */
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { PROJECT_ROOT } from '../helpers/nodered';

const NODES = path.join(PROJECT_ROOT, 'nodes');
const names = fs.readdirSync(NODES).filter((name) => fs.existsSync(path.join(NODES, name, `${name}.ts`)));

function sources(name: string): Array<{ file: string; text: string }> {
  return fs
    .readdirSync(path.join(NODES, name))
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file: `nodes/${name}/${file}`, text: fs.readFileSync(path.join(NODES, name, file), 'utf8') }));
}

function has(catalog: unknown, key: string): boolean {
  const text = key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], catalog);
  return typeof text === 'string';
}

describe('node texts come from the message catalogs', function () {
  it('there are the eight nodes', function () {
    assert.deepStrictEqual(names.sort(), ['app-volume', 'audio-out', 'eq', 'list-apps', 'pre-roll', 'soft-clip', 'tap-source', 'wav-sink']);
  });

  for (const name of names) {
    it(`${name}: no status() with a literal text; every key it names is in ${name}.json`, function () {
      const catalog = JSON.parse(fs.readFileSync(path.join(NODES, name, 'locales', 'en-US', `${name}.json`), 'utf8'));
      for (const { file, text } of sources(name)) {
        const literal = /status\(\{[^}]*\btext:\s*['"`]/.exec(text);
        assert.strictEqual(literal, null, `${file}: status() with a literal text: ${literal?.[0]}`);
        const keys = [...text.matchAll(new RegExp(`['"\`](${name}\\.[\\w]+\\.[\\w.]+)['"\`]`, 'g'))].map((m) => m[1]);
        for (const key of keys) assert.ok(has(catalog, key), `${file} names ${key}, which ${name}.json lacks`);
      }
    });
  }
});

/**
 * node-red-node-test-helper gives nodes a RED._ that returns the key itself. This wraps a node
 * module so that its RED._ reads the node's own message catalog (locales/en-US/<name>.json) the
 * way Node-RED does (__name__ placeholders), and throws on a key the catalog lacks: tests see the
 * texts users see and a missing key fails them.
 */
import fs from 'fs';
import path from 'path';

type NodeModule = (RED: Record<string, unknown>) => unknown;

/** The text of `key` ("wav-sink.status.writing") in the catalog, placeholders filled in. */
export function translator(catalogFile: string): (key: string, values?: Record<string, unknown>) => string {
  const catalog = JSON.parse(fs.readFileSync(catalogFile, 'utf8'));
  return (key, values = {}) => {
    const text = key.split('.').reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], catalog);
    if (typeof text !== 'string') throw new Error(`message catalog ${path.basename(catalogFile)} has no key ${key}`);
    return text.replace(/__(\w+)__/g, (_m, name: string) => String(values[name]));
  };
}

/** `nodeModule` with RED._ reading `catalogFile`. */
export function withCatalog(nodeModule: NodeModule, catalogFile: string): NodeModule {
  const t = translator(catalogFile);
  // Its own view of RED: several wrapped modules share one RED object.
  return (RED) => nodeModule(Object.assign(Object.create(RED) as Record<string, unknown>, { _: t }));
}

/**
 * The compiled node `name` (dist/nodes/<name>/<name>.js) with RED._ reading its own catalog,
 * for helper.load().
 */
export function nodeWithCatalog(name: string): NodeModule {
  const dir = path.resolve(__dirname, '..', '..', 'nodes', name);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return withCatalog(require(path.join(dir, `${name}.js`)), path.join(dir, 'locales', 'en-US', `${name}.json`));
}

/**
 * list-apps: on any input, msg.payload becomes the list of apps with audio streams
 * ({pid, name, executable, streams, playing, volume, muted}[]). The same list is served to
 * the editor at GET /audio-tap/apps for tap-source's app picker.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { listApps } from '../../src/apps';

module.exports = function (RED: NodeAPI) {
  function ListAppsNode(this: Node, config: NodeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.on('input', (msg, send, done) => {
      listApps().then(
        (apps) => {
          node.status({ fill: 'green', shape: 'dot', text: RED._('list-apps.status.listed', { count: apps.length }) });
          msg.payload = apps;
          send(msg);
          done();
        },
        (error: Error) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._('list-apps.status.error') });
          done(error);
        },
      );
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('list-apps', ListAppsNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);

  RED.httpAdmin.get('/audio-tap/apps', RED.auth.needsPermission('list-apps.read'), (_req, res) => {
    listApps().then(
      (apps) => res.json(apps),
      (error: Error & { code?: string }) => res.status(503).json({ error: error.message, code: error.code ?? 'EOS' }),
    );
  });
};

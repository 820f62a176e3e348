/**
 * app-volume: sets an app's volume and/or mute, by name or PID.
 *
 * Input: msg.payload (a number: the volume), or msg.volume, in the configured unit (linear
 * gain 0..1, or dB ≤ 0); msg.mute (boolean); msg.app (name or PID) overrides the configured
 * app. Output: the message, with msg.payload {app, volume, mute} as set.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { AppRef, checkAppRef, setAppVolume } from '../../src/apps';
import { asNumberOrInfinity } from '../../src/numbers';

interface AppVolumeDef extends NodeDef {
  app: string;
  volume: string;
  unit: 'linear' | 'dB';
  mute: '' | 'mute' | 'unmute';
}

/**
 * Converts a volume in `unit` to a linear gain 0..1.
 * @throws RangeError saying the allowed range.
 */
export function toLinear(value: unknown, unit: 'linear' | 'dB'): number {
  const n = asNumberOrInfinity(value);
  if (n === undefined) {
    throw new TypeError(`volume: expected a number (${unit === 'dB' ? 'dB ≤ 0' : 'linear gain 0..1'}), got ${JSON.stringify(value)}`);
  }
  if (unit === 'dB') {
    if (!(n <= 0)) throw new RangeError(`volume: ${n} dB is out of range; expected 0 dB or less (−Infinity mutes)`);
    return Math.pow(10, n / 20);
  }
  if (!(n >= 0 && n <= 1)) throw new RangeError(`volume: ${n} is out of range; expected a linear gain from 0 to 1`);
  return n;
}

function appRef(value: unknown): AppRef {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    throw new TypeError('app: no app given; configure one or send msg.app (a name or PID)');
  }
  return checkAppRef(value, 'app');
}

module.exports = function (RED: NodeAPI) {
  function AppVolumeNode(this: Node, config: AppVolumeDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const unit = config.unit === 'dB' ? 'dB' : 'linear';

    node.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      let app: AppRef;
      let volume: number | undefined;
      let mute: boolean | undefined;
      try {
        app = appRef(msg.app ?? config.app);
        const requested = typeof msg.payload === 'number' ? msg.payload : msg.volume ?? (config.volume !== '' ? config.volume : undefined);
        if (requested !== undefined) volume = toLinear(requested, (msg.unit === 'dB' || msg.unit === 'linear' ? msg.unit : unit) as 'linear' | 'dB');
        if (msg.mute !== undefined) {
          if (typeof msg.mute !== 'boolean') throw new TypeError(`msg.mute: expected true or false, got ${JSON.stringify(msg.mute)}`);
          mute = msg.mute;
        } else if (config.mute) {
          mute = config.mute === 'mute';
        }
        if (volume === undefined && mute === undefined) {
          throw new TypeError('nothing to set: configure a volume or mute, or send msg.payload / msg.volume / msg.mute');
        }
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('app-volume.status.config') });
        return done(error as Error);
      }
      setAppVolume(app, { volume, mute }).then(
        () => {
          const parts = [];
          if (volume !== undefined) parts.push(`${Math.round(volume * 100)}%`);
          if (mute !== undefined) parts.push(RED._(mute ? 'app-volume.status.muted' : 'app-volume.status.unmuted'));
          node.status({ fill: 'green', shape: 'dot', text: RED._('app-volume.status.set', { app, what: parts.join(' ') }).slice(0, 20) });
          msg.payload = { app, ...(volume !== undefined ? { volume } : {}), ...(mute !== undefined ? { mute } : {}) };
          send(msg);
          done();
        },
        (error: Error & { code?: string }) => {
          node.status({ fill: 'red', shape: 'ring', text: RED._(error.code === 'ENOAPP' ? 'app-volume.status.noApp' : 'app-volume.status.error') });
          done(error);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('app-volume', AppVolumeNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

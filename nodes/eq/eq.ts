/**
 * eq: a parametric equaliser of RBJ Audio EQ Cookbook bands (src/dsp/cookbook.ts) run by the
 * native biquad cascade, with preamp and bypass.
 *
 * Input:  PCM messages (msg.payload Buffer + msg.audio, as tap-source sends), s16le or f32le,
 *         1 or 2 channels, any rate. Control fields, alone or on a PCM message: msg.preset,
 *         msg.bands, msg.preamp (dB), msg.bypass; changes are ramped over the ramp time.
 * Output: the same message with msg.payload filtered in place, format unchanged.
 * Filter memory is kept per recording (msg.audio.recordingId, else msg.topic), at most
 * MAX_STREAMS recordings at once (least recently used dropped), and dropped when a recording
 * ends (msg.audio.final).
 */
import fs from 'fs';
import path from 'path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Band } from '../../src/dsp/cookbook';
import { checkEqSettings, DEFAULT_RAMP_MS, EqSettings, Equalizer, mergeEqSettings } from '../../src/dsp/equalizer';
import { processMessage, StreamTable } from '../../src/dsp/streams';

interface EqDef extends NodeDef {
  bands?: Band[];
  preamp?: number | string;
  bypass?: boolean;
  ramp?: number | string;
}

const MAX_STREAMS = 16;
type Msg = NodeMessage & Record<string, unknown>;

/** The editor's copy of the cookbook and presets: the compiled modules, wrapped for a browser. */
function editorScript(): string {
  const dir = path.resolve(__dirname, '..', '..', 'src', 'dsp');
  const read = (name: string) =>
    fs.readFileSync(path.join(dir, name), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return (
    '(function () {\n' +
    'var cookbook = {}; (function (exports) {\n' + read('cookbook.js') + '\n})(cookbook);\n' +
    'var presets = {}; (function (exports) {\n' + read('presets.js') + '\n})(presets);\n' +
    'window.AudioTapEq = { cookbook: cookbook, presets: presets };\n' +
    '})();\n'
  );
}

module.exports = function (RED: NodeAPI) {
  function EqNode(this: Node, config: EqDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const streams = new StreamTable<Equalizer>(MAX_STREAMS);
    let settings: EqSettings = { bands: [], preamp: 0, bypass: false };
    let rampMs = DEFAULT_RAMP_MS;
    let configError: Error | undefined;
    try {
      settings = mergeEqSettings(settings, { bands: config.bands ?? [], preamp: config.preamp === undefined || config.preamp === '' ? 0 : config.preamp, bypass: !!config.bypass }, '');
      const ramp = config.ramp === undefined || config.ramp === '' ? DEFAULT_RAMP_MS : Number(config.ramp);
      if (!(ramp >= 0 && ramp <= 1000)) throw new RangeError(`ramp must be 0..1000 ms (got ${String(config.ramp)})`);
      rampMs = ramp;
    } catch (error) {
      configError = error as Error;
      node.error(`eq settings: ${configError.message}`);
    }

    // A red status from a refused message stays until a message goes through again.
    let failed = false;
    // Streams already warned about NaN/Inf input: one warning per recording, not per chunk.
    const warned = new WeakSet<object>();

    function showStatus() {
      failed = false;
      if (configError) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('eq.status.config') });
      } else if (settings.bypass) {
        node.status({ fill: 'grey', shape: 'ring', text: RED._('eq.status.bypassed') });
      } else {
        const count = settings.bands.filter((b) => b.enabled !== false).length;
        node.status({ fill: 'green', shape: 'dot', text: RED._('eq.status.bands', { count }) });
      }
    }
    showStatus();

    node.on('input', (msg: Msg, send, done) => {
      const fail = (status: string, error: Error) => {
        failed = true;
        node.status({ fill: 'red', shape: 'ring', text: RED._(`eq.status.${status}`) });
        done(error);
      };
      if (configError) return fail('config', configError);

      const control = msg.preset !== undefined || msg.bands !== undefined || msg.preamp !== undefined || msg.bypass !== undefined;
      if (control) {
        let next: EqSettings;
        try {
          next = mergeEqSettings(settings, { preset: msg.preset, bands: msg.bands, preamp: msg.preamp, bypass: msg.bypass });
          // Every running stream must accept the new bands (Nyquist) before any changes.
          if (!next.bypass) {
            for (const stream of streams.values()) checkEqSettings({ bands: next.bands }, 'msg.', stream.format.sampleRate);
          }
        } catch (error) {
          return fail('setting', error as Error);
        }
        settings = next;
        for (const stream of streams.values()) stream.update(settings);
        showStatus();
        if (!Buffer.isBuffer(msg.payload)) return done();
      }

      let stream: Equalizer;
      try {
        stream = processMessage(streams, msg, (format) => new Equalizer(format, settings, rampMs));
      } catch (error) {
        const e = error as Error;
        return fail(e.message.startsWith('msg.payload') ? 'payload' : e.message.includes('bands') ? 'setting' : 'format', e);
      }
      if (stream.lastNonFinite > 0 && !warned.has(stream)) {
        warned.add(stream);
        node.warn(RED._('eq.errors.nonFinite', { count: stream.lastNonFinite }));
      }
      if (failed) showStatus();
      send(msg);
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      streams.clear();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('eq', EqNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);

  let script: string | undefined;
  RED.httpAdmin.get('/audio-tap/eq/cookbook.js', RED.auth.needsPermission('eq.read'), (_req, res) => {
    try {
      script ??= editorScript();
      res.type('application/javascript').send(script);
    } catch (error) {
      res.status(500).send(`/* ${(error as Error).message} */`);
    }
  });
};

/**
 * eq: a parametric equaliser of RBJ Audio EQ Cookbook bands (src/dsp/cookbook.ts) run by the
 * native biquad cascade, with preamp and bypass.
 *
 * Input:  PCM messages (msg.payload Buffer + msg.audio, as tap-source sends), s16le or f32le,
 *         1 to 32 channels (a multitrack recording's tracks: each channel filtered alike, with
 *         its own memory), any rate. Control fields, alone or on a PCM message: msg.preset,
 *         msg.bands, msg.preamp (dB), msg.bypass; changes are ramped over the ramp time.
 * Output: the same message with msg.payload filtered in place, format unchanged.
 * Filter memory is kept per recording (msg.audio.recordingId, else msg.topic), at most
 * MAX_STREAMS (src/node-red/stream-node.ts) recordings at once (least recently used dropped), and dropped when a recording
 * ends (msg.audio.final).
 */
import fs from 'fs';
import path from 'path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { Band } from '../../src/dsp/cookbook';
import { checkEqSettings, EqSettings, Equalizer, mergeEqSettings } from '../../src/dsp/equalizer';
import { DEFAULT_RAMP_MS, rampSetting } from '../../src/dsp/ramped-stream';
import { runStreamNode } from '../../src/node-red/stream-node';

interface EqDef extends NodeDef {
  bands?: Band[];
  preamp?: number | string;
  bypass?: boolean;
  ramp?: number | string;
}

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
    runStreamNode<EqSettings, Equalizer>(RED, this, {
      type: 'eq',
      configure: () => ({
        settings: mergeEqSettings(
          { bands: [], preamp: 0, bypass: false },
          { bands: config.bands ?? [], preamp: config.preamp === undefined || config.preamp === '' ? 0 : config.preamp, bypass: !!config.bypass },
          '',
        ),
        rampMs: rampSetting(config.ramp, DEFAULT_RAMP_MS),
      }),
      controls: ['preset', 'bands', 'preamp', 'bypass'],
      merge: (settings, msg, streams) => {
        const next = mergeEqSettings(settings, { preset: msg.preset, bands: msg.bands, preamp: msg.preamp, bypass: msg.bypass });
        // Every running stream must accept the new bands (Nyquist) before any changes.
        if (!next.bypass) for (const stream of streams) checkEqSettings({ bands: next.bands }, 'msg.', stream.format.sampleRate);
        return next;
      },
      make: (format, settings, rampMs) => new Equalizer(format, settings, rampMs),
      update: (stream, settings) => stream.update(settings),
      idleStatus: (settings) =>
        settings.bypass
          ? { fill: 'grey', shape: 'ring', text: RED._('eq.status.bypassed') }
          : { fill: 'green', shape: 'dot', text: RED._('eq.status.bands', { count: settings.bands.filter((b) => b.enabled !== false).length }) },
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

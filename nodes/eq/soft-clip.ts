/**
 * soft-clip: a smooth saturating clipper (src/dsp/soft-clipper.ts) with a plain gain (the
 * volume, applied before the curve), a threshold below which it is transparent and a ceiling
 * the output never exceeds.
 *
 * Input:  PCM messages (msg.payload Buffer + msg.audio), s16le or f32le, 1 or 2 channels.
 *         Control fields, alone or on a PCM message: msg.gain (dB), msg.threshold (dBFS),
 *         msg.ceiling (dBFS); changes are ramped over the ramp time.
 * Output: the same message with msg.payload clipped in place, format unchanged.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { mergeSoftClipSettings, SOFT_CLIP_DEFAULTS, SoftClipper, SoftClipSettings } from '../../src/dsp/soft-clipper';
import { processMessage, StreamTable } from '../../src/dsp/streams';

interface SoftClipDef extends NodeDef {
  gain?: number | string;
  threshold?: number | string;
  ceiling?: number | string;
  ramp?: number | string;
}

const MAX_STREAMS = 16;
type Msg = NodeMessage & Record<string, unknown>;

module.exports = function (RED: NodeAPI) {
  function SoftClipNode(this: Node, config: SoftClipDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const streams = new StreamTable<SoftClipper>(MAX_STREAMS);
    let settings: SoftClipSettings = { ...SOFT_CLIP_DEFAULTS };
    let rampMs = 20;
    let configError: Error | undefined;
    try {
      const orDefault = (v: unknown, d: number) => (v === undefined || v === '' ? d : v);
      settings = mergeSoftClipSettings(
        settings,
        {
          gain: orDefault(config.gain, SOFT_CLIP_DEFAULTS.gain),
          threshold: orDefault(config.threshold, SOFT_CLIP_DEFAULTS.threshold),
          ceiling: orDefault(config.ceiling, SOFT_CLIP_DEFAULTS.ceiling),
        },
        '',
      );
      const ramp = Number(orDefault(config.ramp, 20));
      if (!(ramp >= 0 && ramp <= 1000)) throw new RangeError(`ramp must be 0..1000 ms (got ${String(config.ramp)})`);
      rampMs = ramp;
    } catch (error) {
      configError = error as Error;
      node.error(`soft-clip settings: ${configError.message}`);
    }

    // A red status from a refused message stays until a message goes through again.
    let failed = false;
    // Streams already warned about NaN/Inf input: one warning per recording, not per chunk.
    const warned = new WeakSet<object>();

    function showStatus() {
      failed = false;
      if (configError) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('soft-clip.status.config') });
      } else {
        node.status({});
      }
    }
    showStatus();

    node.on('input', (msg: Msg, send, done) => {
      const fail = (status: string, error: Error) => {
        failed = true;
        node.status({ fill: 'red', shape: 'ring', text: RED._(`soft-clip.status.${status}`) });
        done(error);
      };
      if (configError) return fail('config', configError);

      if (msg.gain !== undefined || msg.threshold !== undefined || msg.ceiling !== undefined) {
        try {
          settings = mergeSoftClipSettings(settings, { gain: msg.gain, threshold: msg.threshold, ceiling: msg.ceiling });
        } catch (error) {
          return fail('setting', error as Error);
        }
        for (const stream of streams.values()) stream.update(settings);
        showStatus();
        if (!Buffer.isBuffer(msg.payload)) return done();
      }

      let stream: SoftClipper;
      try {
        stream = processMessage(streams, msg, (format) => new SoftClipper(format, settings, rampMs));
      } catch (error) {
        const e = error as Error;
        return fail(e.message.startsWith('msg.payload') ? 'payload' : 'format', e);
      }
      if (stream.lastNonFinite > 0 && !warned.has(stream)) {
        warned.add(stream);
        node.warn(RED._('soft-clip.errors.nonFinite', { count: stream.lastNonFinite }));
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

  RED.nodes.registerType('soft-clip', SoftClipNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

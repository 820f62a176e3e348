/**
 * soft-clip: a smooth saturating clipper (src/dsp/soft-clipper.ts) with a plain gain (the
 * volume, applied before the curve), a threshold below which it is transparent and a ceiling
 * the output never exceeds.
 *
 * Input:  PCM messages (msg.payload Buffer + msg.audio), s16le or f32le, 1 to 32 channels
 *         (a multitrack recording's tracks: every sample clipped alike).
 *         Control fields, alone or on a PCM message: msg.gain (dB), msg.threshold (dBFS),
 *         msg.ceiling (dBFS); changes are ramped over the ramp time.
 * Output: the same message with msg.payload clipped in place, format unchanged.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { DEFAULT_RAMP_MS, rampSetting } from '../../src/dsp/ramped-stream';
import { mergeSoftClipSettings, SOFT_CLIP_DEFAULTS, SoftClipper, SoftClipSettings } from '../../src/dsp/soft-clipper';
import { runStreamNode } from '../../src/node-red/stream-node';

interface SoftClipDef extends NodeDef {
  gain?: number | string;
  threshold?: number | string;
  ceiling?: number | string;
  ramp?: number | string;
}

module.exports = function (RED: NodeAPI) {
  function SoftClipNode(this: Node, config: SoftClipDef) {
    RED.nodes.createNode(this, config);
    const orDefault = (v: unknown, d: number) => (v === undefined || v === '' ? d : v);
    runStreamNode<SoftClipSettings, SoftClipper>(RED, this, {
      type: 'soft-clip',
      configure: () => ({
        settings: mergeSoftClipSettings(
          SOFT_CLIP_DEFAULTS,
          {
            gain: orDefault(config.gain, SOFT_CLIP_DEFAULTS.gain),
            threshold: orDefault(config.threshold, SOFT_CLIP_DEFAULTS.threshold),
            ceiling: orDefault(config.ceiling, SOFT_CLIP_DEFAULTS.ceiling),
          },
          '',
        ),
        rampMs: rampSetting(config.ramp, DEFAULT_RAMP_MS),
      }),
      controls: ['gain', 'threshold', 'ceiling'],
      merge: (settings, msg) => mergeSoftClipSettings(settings, { gain: msg.gain, threshold: msg.threshold, ceiling: msg.ceiling }),
      make: (format, settings, rampMs) => new SoftClipper(format, settings, rampMs),
      update: (stream, settings) => stream.update(settings),
      idleStatus: () => ({}),
    });
  }

  RED.nodes.registerType('soft-clip', SoftClipNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

/**
 * audio-out: plays PCM messages to the default or a chosen output device through a bounded
 * jitter buffer. Underruns (the buffer ran dry: silence played) and overruns (audio dropped
 * because the buffer was full) are counted and shown on the status.
 *
 * Input: PCM messages as tap-source, eq and soft-clip send them. A message in another format
 * than the one playing restarts the output in the new format. msg.audio.final plays out what
 * is buffered.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Playback } from '../../src/playback';
import { AudioFormat, sameFormat } from '../../src/format';
import { PcmChunk, PcmMessageError, readPcmMessage } from '../../src/node-red/pcm-message';
import { settingNumber } from '../../src/numbers';

interface AudioOutDef extends NodeDef {
  device: string;
  bufferMs: string | number;
}

module.exports = function (RED: NodeAPI) {
  function AudioOutNode(this: Node, config: AudioOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const device = (config.device || '').trim();
    let bufferMs = 100;
    let configError: Error | undefined;
    try {
      bufferMs = settingNumber(config.bufferMs, 100, 'buffer', 'milliseconds from 1 to 10000');
    } catch (error) {
      configError = error as Error;
    }
    let playback: Playback | undefined;
    let failed: { at: number; error: Error } | undefined;
    let statusTimer: NodeJS.Timeout | undefined;

    function showStatus() {
      if (!playback) return;
      const stats = playback.stats();
      const xruns = stats.underruns > 0 || stats.overrunFrames > 0;
      node.status({
        fill: xruns ? 'yellow' : 'green',
        shape: 'dot',
        text: RED._('audio-out.status.playing', { underruns: stats.underruns, overruns: Math.ceil(stats.overrunFrames / (playback.format.sampleRate / 100)) }),
      });
    }

    function close() {
      if (statusTimer) clearInterval(statusTimer);
      statusTimer = undefined;
      playback?.stop();
      playback = undefined;
    }

    function open(format: AudioFormat): Playback {
      const next = new Playback({ format, device: device || undefined, bufferMs });
      next.start().then(
        () => {
          failed = undefined;
          showStatus();
        },
        (error: Error) => {
          if (playback === next) close();
          failed = { at: Date.now(), error };
          node.status({ fill: 'red', shape: 'ring', text: RED._('audio-out.status.outputFailed') });
          node.error(`cannot play${device ? ` to "${device}"` : ''}: ${error.message}`, {});
        },
      );
      statusTimer = setInterval(showStatus, 1000);
      return next;
    }

    node.on('input', (msg: NodeMessage & Record<string, unknown>, _send, done) => {
      if (configError) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('audio-out.status.config') });
        return done(configError);
      }
      let pcm: PcmChunk;
      try {
        pcm = readPcmMessage(msg);
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._(`audio-out.status.${(error as PcmMessageError).refusal}`) });
        return done(error as Error);
      }
      const { payload, format } = pcm;
      // After a failure, try again at most every 5 s rather than on every chunk.
      if (!playback && failed && Date.now() - failed.at < 5000) return done();
      if (playback && !sameFormat(playback.format, format)) {
        node.warn(
          `format changed from ${playback.format.sampleRate} Hz ${playback.format.channels} ch ${playback.format.encoding} to ${format.sampleRate} Hz ${format.channels} ch ${format.encoding}: output restarted`,
        );
        close();
      }
      try {
        playback = playback ?? open(format);
      } catch (error) {
        node.status({ fill: 'red', shape: 'ring', text: RED._('audio-out.status.config') });
        return done(error as Error);
      }
      if (payload.length > 0) playback.write(payload);
      if ((msg.audio as { final?: boolean } | undefined)?.final) playback.drain();
      done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      close();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('audio-out', AudioOutNode as unknown as Parameters<NodeAPI['nodes']['registerType']>[1]);
};

/**
 * nodes/tap-source/recording.ts on a fake capture (the node logic only; capture itself is
 * tested against real servers): states, the duration cut at the exact frame, positions passed
 * through, the final message, a failed start, activity events and a file per activity.
 */
import assert from 'assert';
import { EventEmitter } from 'events';
import type { NodeMessage, NodeStatus } from 'node-red';
import type { Capture, CaptureEnd } from '../../src/capture';
import { RecordingOptions, TapRecording } from '../../nodes/tap-source/recording';

class FakeCapture extends EventEmitter {
  stops = 0;
  failWith: (Error & { code?: string }) | undefined;
  async start(): Promise<void> {
    if (this.failWith) throw this.failWith;
  }
  stop(): void {
    this.stops++;
  }
}

interface Sent {
  pcm: Array<Record<string, any>>;
  events: Array<Record<string, any>>;
  statuses: NodeStatus[];
}

function make(duration: number, fake = new FakeCapture(), options: Partial<RecordingOptions> = {}) {
  const sent: Sent = { pcm: [], events: [], statuses: [] };
  const rec = new TapRecording(
    fake as unknown as Capture,
    {
      id: 'r1',
      target: { kind: 'app', apps: ['player'] },
      format: { sampleRate: 8000, channels: 1, encoding: 's16le' },
      extras: { req: 'kept' },
      topic: 'player',
      duration,
      emitLevels: false,
      ...options,
    },
    {
      sendPcm: (msg: NodeMessage) => sent.pcm.push(msg as Record<string, any>),
      sendEvent: (msg: NodeMessage) => sent.events.push((msg as Record<string, any>).payload),
      status: (status) => sent.statuses.push(status),
      warn: () => undefined,
      error: () => undefined,
      t: (key) => key,
      closing: () => false,
    },
  );
  return { rec, fake, sent };
}

const end = (frames: number, reason: CaptureEnd['reason'] = 'stopped'): CaptureEnd =>
  ({ reason, frames, seconds: frames / 8000, droppedChunks: 0, droppedFrames: 0, overrunFrames: 0 }) as CaptureEnd;

describe('tap-source recording', function () {
  it('starting → waiting → recording → stopping → ended, once', async function () {
    const { rec, fake, sent } = make(0);
    assert.strictEqual(rec.state, 'starting');
    await rec.start();
    fake.emit('waiting');
    assert.strictEqual(rec.state, 'waiting');
    fake.emit('recording');
    assert.strictEqual(rec.state, 'recording');
    rec.stop();
    assert.strictEqual(rec.state, 'stopping');
    assert.strictEqual(fake.stops, 1);
    fake.emit('end', end(0));
    assert.strictEqual(rec.state, 'ended');
    await rec.ended;
    fake.emit('end', end(0)); // a second end changes nothing
    rec.stop();
    assert.strictEqual(fake.stops, 1);
    assert.deepStrictEqual(sent.events.map((e) => e.event), ['waiting', 'started', 'stopped']);
    assert.strictEqual(sent.pcm.length, 1, 'one final message');
  });

  it('a duration stops at the exact frame: the chunk that crosses it is cut, later ones are not sent', async function () {
    const { rec, fake, sent } = make(0.01); // 80 frames at 8 kHz
    await rec.start();
    fake.emit('recording');
    for (const position of [0, 32, 64, 96]) fake.emit('chunk', { data: Buffer.alloc(64, 1), position, frames: 32 });
    assert.strictEqual(fake.stops, 1, 'stopped once, when the timeline reached the duration');
    assert.deepStrictEqual(sent.pcm.map((m) => [m.audio.position, m.payload.length]), [[0, 64], [32, 64], [64, 32]]);
    fake.emit('end', end(128));
    const last = sent.pcm[sent.pcm.length - 1];
    assert.deepStrictEqual([last.payload.length, last.audio.position, last.audio.final, last.audio.reason], [0, 80, true, 'stopped']);
    const stopped = sent.events[sent.events.length - 1];
    assert.deepStrictEqual([stopped.event, stopped.frames, stopped.seconds], ['stopped', 80, 0.01]);
  });

  it("positions are the engine's: a jump (dropped chunks) passes through, and the end counts the whole timeline", async function () {
    const { rec, fake, sent } = make(0);
    await rec.start();
    fake.emit('chunk', { data: Buffer.alloc(64), position: 0, frames: 32 });
    fake.emit('chunk', { data: Buffer.alloc(64), position: 320, frames: 32 });
    fake.emit('end', end(400, 'target-exited'));
    assert.deepStrictEqual(sent.pcm.map((m) => m.audio.position), [0, 320, 400]);
    assert.strictEqual(sent.pcm[2].audio.reason, 'target-exited');
    assert.strictEqual(sent.pcm[0].req, 'kept', "the start message's properties ride along");
    assert.strictEqual(sent.pcm[0].topic, 'player');
  });

  it('dropped chunks: a drops event on output 2 at most once per second of the timeline, the rest in the next one', async function () {
    const { rec, fake, sent } = make(0); // 8000 Hz
    await rec.start();
    const chunk = (position: number) => fake.emit('chunk', { data: Buffer.alloc(64), position, frames: 32 });
    chunk(0);
    chunk(320); // 288 frames dropped: reported at once
    chunk(1000); // 648 more, 0.085 s later: held back
    chunk(8000); // 6968 more, within the second: held back
    chunk(9000); // 968 more, 1.08 s after the first report: reported with what was held
    chunk(9032); // contiguous: nothing
    fake.emit('end', end(9064));
    const drops = sent.events.filter((e) => e.event === 'drops');
    assert.deepStrictEqual(
      drops.map((e) => [e.droppedFrames, e.totalDroppedFrames, e.position, e.seconds]),
      [
        [288, 288, 320, 0.04],
        [648 + 6968 + 968, 288 + 648 + 6968 + 968, 9000, 1.125],
      ],
    );
    assert.strictEqual(drops[0].recordingId, 'r1');
    assert.strictEqual(drops[0].droppedSeconds, 0.036);
  });

  it('a start that fails ends the recording with a stopped event of reason error, and rejects', async function () {
    const fake = new FakeCapture();
    fake.failWith = Object.assign(new Error('no running app is named "player"'), { code: 'ENOAPP' });
    const { rec, sent } = make(0, fake);
    await assert.rejects(rec.start(), /no running app/);
    assert.strictEqual(rec.state, 'ended');
    await rec.ended;
    assert.deepStrictEqual([sent.events[0].event, sent.events[0].reason, sent.events[0].code], ['stopped', 'error', 'ENOAPP']);
    assert.strictEqual(sent.statuses[sent.statuses.length - 1].fill, 'red');
    assert.strictEqual(sent.pcm.length, 0, 'nothing was recorded, so no final message');
  });

  it('the audio server lost and back: events on output 2 with positions, and the status says so meanwhile', async function () {
    const { rec, fake, sent } = make(0);
    await rec.start();
    fake.emit('recording');
    fake.emit('server-lost', { position: 8000, seconds: 1 });
    assert.deepStrictEqual(sent.statuses[sent.statuses.length - 1], { fill: 'yellow', shape: 'ring', text: 'tap-source.status.serverLost' });
    fake.emit('server-back', { position: 24000, seconds: 3 });
    assert.strictEqual(sent.statuses[sent.statuses.length - 1].fill, 'green');
    fake.emit('end', end(32000));
    const health = sent.events.filter((e) => e.event.startsWith('server-'));
    assert.deepStrictEqual(health.map((e) => [e.event, e.recordingId, e.position, e.seconds]), [
      ['server-lost', 'r1', 8000, 1],
      ['server-back', 'r1', 24000, 3],
    ]);
  });

  describe('activity (8 kHz: a level window is 2000 frames, chunks of 500)', function () {
    /** Plays windows of loud (−6 dBFS) or silent chunks from `from`; returns the position after. */
    function play(fake: FakeCapture, from: number, windows: number, loud: boolean): number {
      let position = from;
      for (let i = 0; i < windows * 4; i++, position += 500) {
        const data = Buffer.alloc(1000);
        if (loud) for (let j = 0; j < 500; j++) data.writeInt16LE(j % 2 ? 16384 : -16384, j * 2);
        fake.emit('chunk', { data, position, frames: 500 });
      }
      return position;
    }

    it('idle / active events at the threshold, positions where the sound and the quiet began', async function () {
      const { rec, fake, sent } = make(0, undefined, { idleSeconds: 1, soundDb: -20 });
      await rec.start();
      fake.emit('recording');
      let at = play(fake, 0, 2, false); // 0.5 s quiet: idle from the start, no event
      at = play(fake, at, 4, true); // sound at 4000
      at = play(fake, at, 8, false); // 2 s quiet: idle once 8000 frames passed, at 20000
      at = play(fake, at, 2, true); // sound again at 28000
      fake.emit('end', end(at));
      const activity = sent.events.filter((e) => e.event === 'active' || e.event === 'idle');
      assert.deepStrictEqual(
        activity.map((e) => [e.event, e.position, e.seconds, e.quietSeconds]),
        [
          ['active', 4000, 0.5, undefined],
          ['idle', 12000, 1.5, 1],
          ['active', 28000, 3.5, undefined],
        ],
      );
      assert.strictEqual(activity[0].recordingId, 'r1');
      assert.ok(sent.pcm.every((m) => m.audio.recordingId === 'r1'), 'without split, one recording');
      assert.strictEqual(sent.pcm.length, 16 * 4 + 1, 'every chunk, then the final message');
    });

    it('a sound below the threshold is quiet: no activity event', async function () {
      const { rec, fake, sent } = make(0, undefined, { idleSeconds: 1, soundDb: -3 }); // the tone peaks at −6 dBFS
      await rec.start();
      fake.emit('end', end(play(fake, 0, 6, true)));
      assert.deepStrictEqual(sent.events.filter((e) => e.event === 'active' || e.event === 'idle'), []);
    });

    it('a file per activity: each active segment is a recording of its own (id -1, -2), the quiet between is not sent, each ends with a final message', async function () {
      const { rec, fake, sent } = make(0, undefined, { idleSeconds: 1, soundDb: -20, split: true });
      await rec.start();
      fake.emit('recording');
      let at = play(fake, 0, 2, false);
      at = play(fake, at, 4, true);
      at = play(fake, at, 8, false);
      at = play(fake, at, 2, true);
      fake.emit('end', end(at));
      const segments = new Map<string, Array<Record<string, any>>>();
      for (const m of sent.pcm) segments.set(m.audio.recordingId, [...(segments.get(m.audio.recordingId) ?? []), m]);
      assert.deepStrictEqual([...segments.keys()], ['r1-1', 'r1-2']);
      const first = segments.get('r1-1')!;
      // From the window with the sound (4000) to the idle decision (20000): 32 chunks and the final.
      assert.deepStrictEqual([first[0].audio.position, first.length, first[first.length - 2].audio.position], [4000, 33, 19500]);
      assert.deepStrictEqual([first[32].audio.final, first[32].audio.reason, first[32].audio.position, first[32].payload.length], [true, 'idle', 20000, 0]);
      const second = segments.get('r1-2')!;
      assert.deepStrictEqual(second.map((m) => m.audio.position), [28000, 28500, 29000, 29500, 30000, 30500, 31000, 31500, 32000]);
      assert.deepStrictEqual([second[8].audio.final, second[8].audio.reason], [true, 'stopped']);
      const events = sent.events.filter((e) => e.event !== 'started');
      assert.deepStrictEqual(
        events.map((e) => [e.event, e.segment, e.segmentId]),
        [
          ['active', 1, 'r1-1'],
          ['idle', 1, 'r1-1'],
          ['active', 2, 'r1-2'],
          ['stopped', undefined, undefined],
        ],
      );
      assert.strictEqual(events[3].segments, 2);
      assert.strictEqual(events[3].frames, 32000, 'the stopped event tells the whole timeline');
    });

    it('a file per activity that never hears a sound sends nothing on output 1, not even a final message', async function () {
      const { rec, fake, sent } = make(0, undefined, { idleSeconds: 1, split: true });
      await rec.start();
      fake.emit('end', end(play(fake, 0, 6, false)));
      assert.strictEqual(sent.pcm.length, 0);
      assert.strictEqual(sent.events[sent.events.length - 1].segments, 0);
    });
  });
});

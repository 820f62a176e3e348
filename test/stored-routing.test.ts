/**
 * A capture leaves the user's stored routing as it found it. PulseAudio's module-stream-restore
 * (loaded by every desktop's default.pa) saves a client's move of a stream as that app's
 * preferred sink, and keeps an entry for every recording client. A muted capture moves the
 * app's streams into its private sink and back; without care, an app that played on another
 * sink would stay pinned there, and each capture would leave an entry of its own.
 *
 * Read independently of the package: PulseAudio's database itself, with tdbdump (tdb-tools),
 * decoded by module-stream-restore's entry layout; WirePlumber's restore-stream state file.
 * Each part runs its own server whatever AUDIO_TAP_TEST_SERVER says: the stored state is that
 * server's own. docs/linux.md says what each server stores and why.
 */
import assert from 'assert';
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { Capture, CaptureEnd, CaptureOptions } from '../src/engine';
import { addNullSink, pactl, Player, playTone, PulseServer, sinkInputOfPlayer, sinkOfPlayer, startPulse, waitFor, waitForStream } from './helpers/pulse';

/** What module-stream-restore stores for one stream group (its entry, version 'B'). */
interface StoredEntry {
  volumeValid: boolean;
  mutedValid: boolean;
  muted: boolean;
  device: string | null;
}

/**
 * Decodes an entry: a tagstruct of version (u8), volume_valid, channel map, cvolume,
 * muted_valid, muted, device_valid, device, card_valid, card (PulseAudio 16,
 * src/modules/module-stream-restore.c, entry_write).
 */
function decodeEntry(data: Buffer): StoredEntry {
  let i = 0;
  const tag = (want?: string) => {
    const t = String.fromCharCode(data[i++]);
    if (want !== undefined && t !== want) throw new Error(`entry: expected tag ${want} at ${i - 1}, got ${t}`);
    return t;
  };
  const bool = () => tag() === '1';
  const str = () => {
    if (tag() === 'N') return null;
    const end = data.indexOf(0, i);
    const s = data.subarray(i, end).toString('utf8');
    i = end + 1;
    return s;
  };
  tag('B');
  i++; // version
  const volumeValid = bool();
  tag('m');
  i += 1 + data[i];
  tag('v');
  i += 1 + 4 * data[i];
  const mutedValid = bool();
  const muted = bool();
  const deviceValid = bool();
  const device = str();
  return { volumeValid, mutedValid, muted, device: deviceValid ? device : null };
}

/** tdbdump's escapes (\XX, hex) back to bytes. */
function unescape(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes);
}

/** Every stored entry, by stream group ("sink-input-by-application-name:…"). */
function storedRouting(pulse: PulseServer): Map<string, StoredEntry> {
  const dir = path.join(pulse.home, '.config', 'pulse');
  const file = fs.readdirSync(dir).find((name) => name.endsWith('stream-volumes.tdb'));
  assert.ok(file, `module-stream-restore's database in ${dir}`);
  const dump = execFileSync('tdbdump', [path.join(dir, file)], { encoding: 'latin1' });
  const entries = new Map<string, StoredEntry>();
  for (const match of dump.matchAll(/key\(\d+\) = "((?:[^"\\]|\\[0-9A-F]{2})*)"\ndata\(\d+\) = "((?:[^"\\]|\\[0-9A-F]{2})*)"/g)) {
    entries.set(unescape(match[1]).toString('utf8').replace(/\0$/, ''), decodeEntry(unescape(match[2])));
  }
  return entries;
}

/** `name` playing a quiet tone, on `device` when given (as an app the user sent there). */
function playOn(name: string, device?: string): Player {
  return playTone(name, 660, { amplitude: 0.3, device });
}

async function captureASecond(options: CaptureOptions): Promise<CaptureEnd> {
  const capture = new Capture(options);
  const ended = new Promise<CaptureEnd>((resolve) => capture.on('end', resolve));
  capture.on('chunk', () => undefined);
  await capture.start();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  capture.stop();
  return ended;
}

describe('stored routing after a capture (PulseAudio with module-stream-restore)', function () {
  this.timeout(30000);
  let pulse: PulseServer;
  let removeOther: () => void;

  before(async function () {
    pulse = await startPulse({ own: true, kind: 'pulseaudio' });
    pactl('load-module', 'module-stream-restore');
    removeOther = addNullSink('other');
  });

  after(async function () {
    removeOther?.();
    await pulse?.stop();
  });

  it('a muted capture of an app on the default sink and one on another: both go back, no device is stored for either, no entry is left of the capture, and their next runs play where they would have', async function () {
    let onDefault = playOn('app-default');
    let onOther = playOn('app-other', 'other');
    await Promise.all([waitForStream(onDefault), waitForStream(onOther)]);
    const before = storedRouting(pulse);
    assert.strictEqual(before.get('sink-input-by-application-name:app-other')?.device, null, 'a device asked for at creation is not stored');
    const end = await captureASecond({ target: { kind: 'app', apps: ['app-default', 'app-other'] }, mute: true });
    assert.strictEqual(end.reason, 'stopped');
    await waitFor(() => sinkOfPlayer(onOther) === 'other' && sinkOfPlayer(onDefault) === pulse.sink, 5000, 'the streams to go back');
    const after = storedRouting(pulse);
    assert.deepStrictEqual([...after.keys()].sort(), [...before.keys()].sort(), 'the same stream groups are stored');
    for (const [key, entry] of before) {
      const now = after.get(key)!;
      assert.strictEqual(now.device, entry.device, `${key}: stored device`);
      assert.strictEqual(now.volumeValid, entry.volumeValid, `${key}: volume stored or not`);
      assert.strictEqual(now.muted, entry.muted, `${key}: mute`);
    }
    // The apps again, asking for no device: where a new app plays (the default sink).
    await Promise.all([onDefault.stop(), onOther.stop()]);
    onDefault = playOn('app-default');
    onOther = playOn('app-other');
    try {
      await Promise.all([waitForStream(onDefault), waitForStream(onOther)]);
      assert.deepStrictEqual([sinkOfPlayer(onDefault), sinkOfPlayer(onOther)], [pulse.sink, pulse.sink]);
    } finally {
      await Promise.all([onDefault.stop(), onOther.stop()]);
    }
  });

  it('an unmuted capture and a system-mix capture leave no entry of their own', async function () {
    const tone = playTone('app-plain', 440);
    try {
      await waitForStream(tone);
      const before = [...storedRouting(pulse).keys()].sort();
      assert.ok(!before.some((key) => key.startsWith('source-output')), JSON.stringify(before));
      await captureASecond({ target: { kind: 'app', apps: ['app-plain'] } });
      await captureASecond({ target: { kind: 'system' } });
      assert.deepStrictEqual([...storedRouting(pulse).keys()].sort(), before);
    } finally {
      await tone.stop();
    }
  });
});

/**
 * The stream targets WirePlumber (0.4, restore-stream.lua) has stored, by application name:
 * the `Output/Audio:application.name:<app>:target=<sink>` lines of its state file.
 */
function storedTargets(pulse: PulseServer): Map<string, string> {
  const file = path.join(pulse.state, 'wireplumber', 'restore-stream');
  const targets = new Map<string, string>();
  if (!fs.existsSync(file)) return targets;
  for (const match of fs.readFileSync(file, 'utf8').matchAll(/^Output\/Audio:application\.name:(.+):target=(.*)$/gm)) {
    targets.set(match[1], match[2]);
  }
  return targets;
}

describe('stored routing after a capture (PipeWire with WirePlumber)', function () {
  this.timeout(30000);
  let pulse: PulseServer;
  let removeOther: () => void;

  before(async function () {
    pulse = await startPulse({ own: true, kind: 'pipewire' });
    removeOther = addNullSink('other');
  });

  after(async function () {
    removeOther?.();
    await pulse?.stop();
  });

  it('a muted capture of an app on the default sink, one on a sink it asked for and one the user moved: WirePlumber stores the same targets after as before, and their next runs play where they would have', async function () {
    const players: Player[] = [];
    const play = (name: string, device?: string) => {
      const player = playOn(name, device);
      players.push(player);
      return player;
    };
    try {
      const onDefault = play('app-default');
      const onOther = play('app-other', 'other');
      const moved = play('app-moved');
      await Promise.all([waitForStream(onDefault), waitForStream(onOther), waitForStream(moved)]);
      // The user's choice, which WirePlumber stores. It stores nothing for a stream it has not
      // linked yet (a busy machine), and pipewire-pulse writes nothing for a move to the sink a
      // stream is on: the test waits for the link, and moves again by way of the default sink.
      await waitFor(() => sinkOfPlayer(moved) === pulse.sink, 5000, 'WirePlumber to link the stream');
      for (let attempt = 1; ; attempt++) {
        if (attempt > 1) pactl('move-sink-input', sinkInputOfPlayer(moved), pulse.sink);
        pactl('move-sink-input', sinkInputOfPlayer(moved), 'other');
        try {
          await waitFor(() => storedTargets(pulse).get('app-moved') === 'other', 3000, "WirePlumber to store the user's move");
          break;
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
      const before = storedTargets(pulse);
      assert.deepStrictEqual([...before], [['app-moved', 'other']], "only the user's move is stored");

      const end = await captureASecond({ target: { kind: 'app', apps: ['app-default', 'app-other', 'app-moved'] }, mute: true });
      assert.strictEqual(end.reason, 'stopped');
      const sinks = () => [sinkOfPlayer(onDefault), sinkOfPlayer(onOther), sinkOfPlayer(moved)];
      await waitFor(() => sinks().join() === [pulse.sink, 'other', 'other'].join(), 5000, 'the streams to go back').catch((error) => {
        throw new Error(`${error.message}: they play on ${sinks().join(', ')}`);
      });
      // WirePlumber writes its state a second after the last change.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.deepStrictEqual([...storedTargets(pulse)].sort(), [...before].sort(), 'the stored targets');

      // The apps again, asking for no device: the default sink, and the user's choice.
      await Promise.all(players.splice(0).map((player) => player.stop()));
      const again = [play('app-default'), play('app-other'), play('app-moved')];
      await Promise.all(again.map((player) => waitForStream(player)));
      await waitFor(() => sinkOfPlayer(again[2]) === 'other', 5000, 'the moved app to play on its stored sink');
      assert.deepStrictEqual(again.map(sinkOfPlayer), [pulse.sink, pulse.sink, 'other']);
    } finally {
      await Promise.all(players.map((player) => player.stop()));
    }
  });
});

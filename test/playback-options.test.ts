/** src/playback.ts without a server: what a Playback refuses before the addon sees it. */
import assert from 'assert';
import { Playback, PlaybackOptions } from '../src/playback';

describe('playback options', function () {
  it('refuses bad options with a TypeError naming the field', function () {
    const format = { sampleRate: 48000, channels: 2, encoding: 's16le' } as const;
    const bad: Array<[unknown, RegExp]> = [
      [{ format: { ...format, sampleRate: 4000 } }, /^sampleRate: expected an integer from 8000 to 192000 Hz/],
      [{ format, bufferMs: 0 }, /^bufferMs: expected milliseconds from 1 to 10000/],
      [{ format, bufferMs: '100' }, /^bufferMs:/],
      [{ format, bufferMs: 100, capacityMs: 50 }, /^capacityMs: expected milliseconds from bufferMs to 60000/],
      [{ format, device: 7 }, /^device: expected a string/],
    ];
    for (const [options, message] of bad) {
      assert.throws(() => new Playback(options as PlaybackOptions), (e: Error) => e instanceof TypeError && message.test(e.message), JSON.stringify(options));
    }
  });
});

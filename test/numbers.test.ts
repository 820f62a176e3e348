/** src/numbers.ts: numbers from forms and messages. */
import assert from 'assert';
import { asNumber, asNumberOrInfinity, settingNumber } from '../src/numbers';

describe('numbers', function () {
  it('asNumber: finite numbers, and decimal strings as forms and MQTT/HTTP payloads give them', function () {
    const good: Array<[unknown, number]> = [[48000, 48000], ['48000', 48000], [' 20 ', 20], ['-6.5', -6.5], ['.5', 0.5], ['1e3', 1000], ['+2', 2]];
    for (const [value, want] of good) assert.strictEqual(asNumber(value), want, JSON.stringify(value));
  });

  it('asNumber: nothing else is a number', function () {
    for (const value of ['0xBB80', [48000], true, '', ' ', 'abc', '1,5', NaN, Infinity, -Infinity, '-Infinity', null, undefined, {}]) {
      assert.strictEqual(asNumber(value), undefined, String(value));
    }
  });

  it('asNumberOrInfinity: also ±Infinity, for gains in dB where −∞ is silence', function () {
    assert.strictEqual(asNumberOrInfinity(-Infinity), -Infinity);
    assert.strictEqual(asNumberOrInfinity(' -Infinity '), -Infinity);
    assert.strictEqual(asNumberOrInfinity('-6'), -6);
    assert.strictEqual(asNumberOrInfinity(NaN), undefined);
    assert.strictEqual(asNumberOrInfinity('-inf'), undefined);
  });

  it('settingNumber: the fallback when unset; a TypeError naming the field for anything else', function () {
    for (const unset of [undefined, null, '']) assert.strictEqual(settingNumber(unset, 20, 'chunk', 'milliseconds'), 20);
    assert.strictEqual(settingNumber('50', 20, 'chunk', 'milliseconds'), 50);
    assert.throws(
      () => settingNumber('fast', 20, 'chunk', 'milliseconds from 1 to 1000'),
      (e: Error) => e instanceof TypeError && e.message === 'chunk: expected milliseconds from 1 to 1000, got "fast"',
    );
  });
});

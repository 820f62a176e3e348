/**
 * Numbers from forms and messages. A flow may send a number, or a decimal numeric string as a
 * form field or an MQTT/HTTP payload gives it ("48000", "-6.5", " 20 ", "1e3"). Nothing else
 * is a number here: not hex ("0xBB80"), not arrays ([48000]), not booleans, not "".
 */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** The number `value` stands for, or undefined when it is not a finite number or decimal string. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && DECIMAL.test(value.trim())) return Number(value.trim());
  return undefined;
}

/**
 * Like asNumber, but `value` may also be -Infinity / "-Infinity" etc.: for gains in dB where
 * −∞ means silence.
 */
export function asNumberOrInfinity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string' && /^[+-]?Infinity$/.test(value.trim())) return Number(value.trim());
  return asNumber(value);
}

/**
 * A node setting: `fallback` when unset (undefined, null or ""), else its number.
 * @throws TypeError `<field>: expected <what>, got <value>` when it is not a number.
 */
export function settingNumber(value: unknown, fallback: number, field: string, what: string): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = asNumber(value);
  if (n === undefined) throw new TypeError(`${field}: expected ${what}, got ${JSON.stringify(value)}`);
  return n;
}

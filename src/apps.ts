/**
 * What the engine says about the system, and per-app volume: listApps, listDevices, listTaps,
 * setAppVolume, backendName, and the app references and errors every engine call shares.
 */
import { loadBinding, NativeApp, NativeDevice, NativeTap } from './binding';

/** An app: a process ID, or a name matched case-insensitively against app and executable names. */
export type AppRef = number | string;

/**
 * An app with audio streams: pid, name, executable, bundleId (macOS), streams (sink-inputs,
 * sessions or process objects), playing (a stream runs now), volume (linear gain 0..1,
 * averaged over its streams), muted.
 */
export type AppInfo = NativeApp;

/** An output device: id (what `device` takes), name, isDefault, outputStreams (index, channels, sampleRate in Hz). */
export type DeviceInfo = NativeDevice;

/** An existing visible process tap (macOS): uid (what target {kind: 'tap'} takes), name, channels, sampleRate (Hz). */
export type TapInfo = NativeTap;

/** An error from the engine, with a stable `code` (ENOLIB, ENOSERVER, ENOAPP, EAMBIGUOUS, …). */
export interface EngineError extends Error {
  code: string;
}

/**
 * An app reference from a form or a message: a positive integer (or a string of digits) is a
 * PID, any other non-empty string an app name (trimmed).
 * @throws TypeError naming `field` for anything else.
 */
export function checkAppRef(value: unknown, field: string): AppRef {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    return /^\d+$/.test(text) ? Number(text) : text;
  }
  throw new TypeError(`${field}: expected a PID (positive integer) or an app name, got ${JSON.stringify(value)}`);
}

/** A list of app references (one, or an array), checked item by item; none for undefined or null. */
export function checkAppList(value: unknown, field: string): AppRef[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => checkAppRef(item, `${field}[${i}]`));
}

/** Apps with audio streams now, one per process. @throws EngineError (ENOLIB, ENOSERVER). */
export function listApps(): Promise<AppInfo[]> {
  return loadBinding().listApps();
}

/** Output devices. @throws EngineError (ENOSERVER; EUNSUPPORTED where a backend cannot list them). */
export function listDevices(): Promise<DeviceInfo[]> {
  return loadBinding().listDevices();
}

/** Existing visible process taps (macOS; empty elsewhere). @throws EngineError. */
export function listTaps(): Promise<TapInfo[]> {
  return loadBinding().listTaps();
}

/**
 * Sets an app's volume (linear gain 0..1) and/or mute.
 * @throws TypeError for bad arguments; EngineError (ENOAPP, EAMBIGUOUS, EUNSUPPORTED).
 */
export function setAppVolume(app: AppRef, settings: { volume?: number; mute?: boolean }): Promise<void> {
  const ref = checkAppRef(app, 'app');
  const { volume, mute } = settings ?? {};
  if (volume !== undefined && !(typeof volume === 'number' && volume >= 0 && volume <= 1)) {
    throw new TypeError(`volume: expected a linear gain from 0 to 1, got ${String(volume)}`);
  }
  if (mute !== undefined && typeof mute !== 'boolean') throw new TypeError('mute: expected true or false');
  return loadBinding().setAppVolume(ref, volume ?? null, mute ?? null);
}

/** The backend serving this platform: 'pulse' | 'coreaudio' | 'wasapi'. */
export function backendName(): string {
  return loadBinding().backend();
}

/**
 * What to capture, as tap-source reads it from its form and from msg.target: app lists
 * ("firefox, 1234, vlc"), "system", or a CaptureTarget-like object; and the short text that
 * names a target in statuses and file names.
 */
import { AppRef, checkAppRef } from '../apps';
import { CaptureTarget, MAX_TRACKS, TrackTarget } from '../capture';

/**
 * App references from a comma-separated list ("firefox, 1234, vlc"), an array, or one PID:
 * digits are PIDs, anything else a name; empty items are skipped; anything else is none.
 * @throws TypeError naming `field` for an item that is neither a PID nor a name.
 */
export function parseAppList(value: unknown, field = 'app'): AppRef[] {
  if (Array.isArray(value)) return value.map((item, i) => checkAppRef(item, `${field}[${i}]`));
  if (typeof value === 'number') return [checkAppRef(value, field)];
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => checkAppRef(item, field));
}

/**
 * Tracks from tap-source's form: targets separated by ";" (or new lines), each an app list
 * ("firefox" or "chrome, 1234": one track, mixed), "system" (the default output's mix),
 * "input" (the default input device) or "input:<source name>".
 * "zoom; firefox; input" is three tracks.
 * @throws TypeError naming `field` when there is no track, more than MAX_TRACKS, or an app
 *   reference is neither a PID nor a name.
 */
export function parseTrackList(value: unknown, field = 'tracks'): CaptureTarget {
  const items = String(value ?? '')
    .split(/[;\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0 || items.length > MAX_TRACKS) {
    throw new TypeError(`${field}: expected 1 to ${MAX_TRACKS} tracks separated by ";" (an app, "system", "input" or "input:<device>"), got ${JSON.stringify(value)}`);
  }
  const tracks = items.map((item, i): TrackTarget => {
    const lower = item.toLowerCase();
    if (lower === 'system') return { kind: 'system' };
    if (lower === 'input') return { kind: 'input' };
    if (lower.startsWith('input:')) return { kind: 'input', device: item.slice('input:'.length).trim() };
    return { kind: 'app', apps: parseAppList(item, `${field}[${i}]`) };
  });
  return { kind: 'tracks', tracks };
}

/**
 * Reads msg.target: an app name or PID (or several, comma-separated), "system", an array of
 * apps, or a CaptureTarget-like object ({kind: 'app', apps} | {kind: 'system', exclude} |
 * {kind: 'tap', tapUid}).
 * @throws TypeError saying what is wrong.
 */
export function parseTarget(value: unknown): CaptureTarget {
  if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')) {
    const text = String(value).trim();
    if (text.toLowerCase() === 'system') return { kind: 'system', exclude: [] };
    return { kind: 'app', apps: parseAppList(text, 'msg.target') };
  }
  if (Array.isArray(value) && value.length > 0) return { kind: 'app', apps: parseAppList(value, 'msg.target') };
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as { kind?: string; apps?: unknown; app?: unknown; exclude?: unknown; tapUid?: unknown };
    if (object.kind === 'system') return { kind: 'system', exclude: parseAppList(object.exclude, 'msg.target.exclude') };
    // Checked in full by the capture (each track's errors name it).
    if (object.kind === 'tracks' || object.kind === 'input') return object as CaptureTarget;
    if (object.kind === 'tap' && typeof object.tapUid === 'string' && object.tapUid !== '') return { kind: 'tap', tapUid: object.tapUid };
    if (object.kind === 'app' || object.kind === undefined) {
      const apps = parseAppList(object.apps ?? object.app, 'msg.target.apps');
      if (apps.length > 0) return { kind: 'app', apps };
    }
  }
  throw new TypeError(
    `msg.target: expected an app name or PID, "system", or {kind: "app", apps: [...]} / {kind: "system", exclude: [...]} / {kind: "input", device} / {kind: "tracks", tracks: [...]} / {kind: "tap", tapUid} (macOS), got ${JSON.stringify(value)}`,
  );
}

/** A target in a few words (src/capture.ts). */
export { describeTarget } from '../capture';

/**
 * File names of recordings: pattern expansion, the numbered suffix that keeps two recordings
 * from sharing a file, and exclusive creation that never leaves the configured directory.
 *
 * A path is taken from the moment it is reserved, synchronously, in a registry shared by every
 * wav-sink of the process; the file is then created with O_CREAT|O_EXCL ('wx'), which also
 * settles a race with another process and refuses a symbolic link as the final component.
 * A name that is reserved or exists gets the next suffix: `talk.wav`, `talk-1.wav`,
 * `talk-2.wav`, …
 */
import fs from 'fs';
import path from 'path';

/** Values of the placeholders in a file name pattern. */
export interface NameValues {
  /** What is recorded (msg.audio.source, else the topic): {app}. */
  app: string;
  /** msg.topic: {topic}. */
  topic: string;
  /** msg.audio.recordingId: {recordingId}. */
  recordingId: string;
  /** The time the recording's first message arrived: {timestamp} (YYYYMMDD-HHMMSS), {date}. */
  now: Date;
  /** A file of one track of a multitrack recording: its name, {track}. */
  track?: string;
}

/** The placeholder that numbers the parts of a rotated recording (1, 2, …). */
export const PART = '{part}';
/** Highest numbered suffix tried before creating a file gives up. */
export const MAX_SUFFIX = 9999;

function timestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** A placeholder value may not add path separators or "..": they could leave the directory. */
function safePart(value: unknown): string {
  return String(value ?? '').replace(/[\\/:*?"<>|\x00-\x1f]+/g, '_').replace(/^\.+/, '_') || '_';
}

/** Splits a path before its extension: ['dir/talk', '.wav']. */
function splitExtension(file: string): [string, string] {
  const ext = path.extname(file);
  return [file.slice(0, file.length - ext.length), ext];
}

/**
 * Expands {app}, {topic}, {timestamp}, {recordingId}, {date} and {track} in a file name
 * pattern, adds ".wav" when the name has no extension, and leaves {part} for
 * {@link partPath}. With `rotating`, a name without {part} gets "-{part}" before its extension
 * (`talk.wav` → `talk-{part}.wav`), so that parts have names of their own; so does a track's
 * file get "-{track}" (`talk.wav` → `talk-zoom.wav`).
 */
export function expandFilename(pattern: string, values: NameValues, rotating = false): string {
  if (values.track !== undefined && !pattern.includes('{track}')) {
    const [stem, ext] = splitExtension(pattern);
    pattern = `${stem}-{track}${ext}`;
  }
  let name = pattern.replace(/\{(app|topic|timestamp|recordingId|date|track)\}/g, (_m, key: string) => {
    switch (key) {
      case 'track':
        return safePart(values.track ?? '');
      case 'app':
        return safePart(values.app);
      case 'topic':
        return safePart(values.topic);
      case 'timestamp':
        return timestamp(values.now);
      case 'date':
        return timestamp(values.now).slice(0, 8);
      default:
        return safePart(values.recordingId);
    }
  });
  if (path.extname(name) === '') name += '.wav';
  if (rotating && !name.includes(PART)) {
    const [stem, ext] = splitExtension(name);
    name = `${stem}-${PART}${ext}`;
  }
  return name;
}

/**
 * The absolute path of `name` resolved inside `directory` (lexically: "..", absolute names).
 * @throws Error when the name resolves outside the directory.
 */
export function resolveInside(directory: string, name: string): string {
  const base = path.resolve(directory);
  const full = path.resolve(base, name);
  if (full !== base && full.startsWith(base + path.sep)) return full;
  throw new Error(
    `file name ${JSON.stringify(name)} resolves to ${full}, outside the directory ${base}; give a name inside it (no "..", no absolute path elsewhere)`,
  );
}

/** `template` with suffix `n` before its extension (n = 0: unchanged): talk.wav → talk-2.wav. */
export function withSuffix(template: string, n: number): string {
  if (n === 0) return template;
  const [stem, ext] = splitExtension(template);
  return `${stem}-${n}${ext}`;
}

/** `template` with {part} replaced by the part number (1-based). */
export function partPath(template: string, part: number): string {
  return template.split(PART).join(String(part));
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..' + path.sep) && rel !== '..' && !path.isAbsolute(rel));
}

/** An error with an errno-style code, for callers that branch on it. */
function codedError(message: string, code: string, cause?: unknown): Error & { code: string } {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

/** Why creating a file failed, in words a user can act on; keeps the system error's code. */
export function describeFsError(action: string, target: string, error: NodeJS.ErrnoException): Error & { code: string } {
  const hints: Record<string, string> = {
    EACCES: 'permission denied: let the user running Node-RED write there',
    EPERM: 'operation not permitted: let the user running Node-RED write there',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'the file system is read-only',
    EISDIR: 'a directory has that name',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EIO: 'the disk reported an I/O error',
  };
  const code = error.code ?? 'EIO';
  const hint = hints[code] ?? error.message;
  return codedError(`${action} ${target} failed: ${hint} (${code})`, code, error);
}

/**
 * Creates `file` for writing, failing when anything (a symbolic link included) has that name:
 * O_CREAT|O_EXCL. A raw descriptor, for positional writes and a synchronous header rewrite at exit.
 */
function openExclusive(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'wx', 0o644, (error, fd) => (error ? reject(error) : resolve(fd))));
}

/** Paths (and rotation templates) reserved by the recordings of this process. */
const reserved = new Set<string>();

/** True while `file` is reserved by a recording of this process (tests, diagnostics). */
export function isReserved(file: string): boolean {
  return reserved.has(file);
}

/**
 * The names of one recording's files inside `root`: part 1 is reserved synchronously when the
 * namer is made, later parts when they are created. Every path it holds is released by
 * {@link FileNamer.releaseAll}.
 */
export class FileNamer {
  /** The directory every file must stay in (absolute). */
  readonly root: string;
  /** The absolute path asked for, {part} not yet replaced. */
  readonly template: string;
  private readonly rotating: boolean;
  private suffix = 0;
  private readonly held = new Set<string>();
  /** Part 1's path, reserved by the constructor, until create(1) takes it. */
  private first?: string;

  /**
   * @param root the configured directory (absolute).
   * @param template an absolute path inside root, with {part} where the part number goes.
   * @throws Error when no free suffix up to {@link MAX_SUFFIX} is left.
   */
  constructor(root: string, template: string) {
    this.root = path.resolve(root);
    this.template = template;
    this.rotating = template.includes(PART);
    this.first = this.reserve(1);
  }

  /** The path of part 1 as asked for, before any suffix. */
  get requestedPath(): string {
    return partPath(this.template, 1);
  }

  /** Reserves the path of `part` under the current suffix, moving the suffix on while it is taken. */
  private reserve(part: number): string {
    for (;;) {
      if (this.suffix > MAX_SUFFIX) {
        throw codedError(`no free name for ${this.requestedPath}: suffixes -1 to -${MAX_SUFFIX} are taken`, 'EEXIST');
      }
      const template = withSuffix(this.template, this.suffix);
      const file = partPath(template, part);
      // The template key keeps two rotated recordings from interleaving one family of names.
      const templateFree = !this.rotating || part > 1 || !reserved.has(template);
      if (!reserved.has(file) && templateFree) {
        reserved.add(file);
        this.held.add(file);
        if (this.rotating && part === 1) {
          reserved.add(template);
          this.held.add(template);
        }
        return file;
      }
      this.suffix++;
    }
  }

  private release(key: string): void {
    if (this.held.delete(key)) reserved.delete(key);
  }

  /** Releases every path this namer holds (its files are closed: a name on disk stays taken). */
  releaseAll(): void {
    for (const key of this.held) reserved.delete(key);
    this.held.clear();
  }

  /**
   * Creates the file of `part` (1-based) exclusively, creating missing directories, and opens it
   * for writing. A name that exists moves the suffix on.
   * @returns the open file descriptor and the path it was created at.
   * @throws Error (with the system error's `code`) when the directory cannot be made or written,
   *   or code 'EOUTSIDE' when the path leads out of `root` through a symbolic link.
   */
  async create(part: number): Promise<{ fd: number; path: string }> {
    const rootReal = await this.realRoot();
    let file = part === 1 && this.first !== undefined ? this.first : this.reserve(part);
    if (part === 1) this.first = undefined;
    for (;;) {
      await this.checkParent(rootReal, file);
      let fd: number;
      try {
        fd = await openExclusive(file);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        this.release(file);
        if (e.code !== 'EEXIST') throw describeFsError('creating', file, e);
        if (part === 1 && this.rotating) this.release(withSuffix(this.template, this.suffix));
        this.suffix++;
        file = this.reserve(part);
        continue;
      }
      return { fd, path: file };
    }
  }

  private async realRoot(): Promise<string> {
    try {
      await fs.promises.mkdir(this.root, { recursive: true });
      return await fs.promises.realpath(this.root);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') throw codedError(`creating the directory ${this.root} failed: a file has that name, not a directory (ENOTDIR)`, 'ENOTDIR', e);
      throw describeFsError('creating the directory', this.root, e);
    }
  }

  /** The real path of the file's parent directory (and of the part of it that exists so far) must stay inside root. */
  private async checkParent(rootReal: string, file: string): Promise<void> {
    const parent = path.dirname(file);
    const outside = (real: string) =>
      codedError(`${file}: the directory ${parent} leads to ${real} (a symbolic link), outside the directory ${rootReal}; wav-sink writes only inside its directory`, 'EOUTSIDE');
    // The deepest part of the parent that exists: checked before mkdir creates anything under it.
    let probe = parent;
    let real: string | undefined;
    while (real === undefined) {
      try {
        real = await fs.promises.realpath(probe);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (e.code !== 'ENOENT' || probe === path.dirname(probe)) throw describeFsError('resolving', probe, e);
        probe = path.dirname(probe);
      }
    }
    if (!isInside(rootReal, real)) throw outside(real);
    try {
      await fs.promises.mkdir(parent, { recursive: true });
    } catch (error) {
      throw describeFsError('creating the directory', parent, error as NodeJS.ErrnoException);
    }
    const made = await fs.promises.realpath(parent);
    if (!isInside(rootReal, made)) throw outside(made);
  }
}

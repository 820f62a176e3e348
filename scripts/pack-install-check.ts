/**
 * npm run check:pack: the package as a user installs it, on a machine without a compiler.
 *
 * 1. `npm pack` of the project as it stands (scripts not run: dist/ comes from the build, the
 *    Linux binaries from `npm run prebuild:linux`), and the published files checked: what the
 *    nodes, the engine API, the examples and a build from source need, the three Linux
 *    prebuilts (with --release, those of every platform: scripts/prebuilds.ts), each of the
 *    format its directory promises, and no tests, benches, build trees or objects.
 * 2. The tarball installed into a fresh Node-RED user directory by an npm whose PATH holds only
 *    node, npm and sh: no compiler, make or python, so only a prebuilt binary can serve (the
 *    install fails otherwise) — and the installed package has no build/ of its own.
 * 3. Node-RED started on that user directory, on a private audio server where an app plays a
 *    tone, with the example "Record an app to WAV" (its "start 10 s" shortened to 2 s): the WAV
 *    must hold 2 s of the app's tone.
 * Prints one line per step; exits non-zero on the first failure.
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { readExample, startNodeRed } from '../test/helpers/nodered';
import { checkPrebuilds, LINUX_PREBUILDS, RELEASE_PREBUILDS } from './prebuilds';
import { playTone, PulseServer, Player, startPulse, waitFor } from '../test/helpers/pulse';
import { channelSamples, medianToneAmplitude } from '../test/helpers/signal';
import { readWav } from '../test/helpers/wav';

const root = path.resolve(__dirname, '..', '..');
const PACKAGE = 'node-red-contrib-audio-tap';
/** With --release (the release workflow): every platform's prebuilt, not only Linux's. */
const PREBUILDS = process.argv.includes('--release') ? RELEASE_PREBUILDS : LINUX_PREBUILDS;
/** What may be published: a path starts with one of these. */
const PUBLISHED = ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'native/', 'prebuilds/', 'resources/', 'dist/src/', 'dist/nodes/', 'examples/'];
/** Never published, wherever they sit. */
const FORBIDDEN = [/(^|\/)test\//, /\.test\.(js|ts|d\.ts)$/, /^dist\/(test|bench|scripts)\//, /^build\//, /\.(o|obj|log)$/, /(^|\/)\.cache\//];

function step(text: string): void {
  console.log(`check:pack: ${text}`);
}

/** 1. Packs the project; returns the tarball's path after checking its file list. */
function pack(dir: string): string {
  const formats = checkPrebuilds(root, PREBUILDS);
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  const [info] = JSON.parse(out) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
  const files = info.files.map((f) => f.path);
  const stray = files.filter((f) => !PUBLISHED.some((p) => f === p || f.startsWith(p)) || FORBIDDEN.some((re) => re.test(f)));
  if (stray.length) throw new Error(`the package would publish files it should not: ${stray.slice(0, 20).join(', ')}`);
  const needed = [...PREBUILDS.map((p) => p.file), 'binding.gyp', 'native/addon/addon.cc', 'dist/src/index.js', 'dist/nodes/tap-source/tap-source.js', 'dist/nodes/tap-source/tap-source.html', 'examples/Record an app to WAV.json'];
  const missing = needed.filter((f) => !files.includes(f));
  if (missing.length) throw new Error(`the package lacks ${missing.join(', ')}`);
  step(`packed ${info.filename}: ${files.length} files, ${(info.size / 2 ** 20).toFixed(1)} MiB (${(info.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked), no tests or build trees`);
  for (const line of formats) step(`  ${line}`);
  return path.join(dir, info.filename);
}

/** A directory holding only node, npm and sh, for a PATH without compilers. */
function bareBin(dir: string): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const npm = execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(fs.realpathSync(npm), path.join(bin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  for (const tool of ['g++', 'c++', 'cc', 'gcc', 'make', 'python3', 'python']) {
    try {
      execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { env: { PATH: bin }, stdio: 'ignore' });
      throw new Error(`${tool} is on the bare PATH`);
    } catch (error) {
      if ((error as Error).message.includes('bare PATH')) throw error;
    }
  }
  return bin;
}

/** 2. Installs the tarball into a new user directory with no compiler on the PATH. */
function install(tarball: string, dir: string): string {
  const userDir = path.join(dir, 'user');
  fs.mkdirSync(userDir);
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }));
  const bin = bareBin(dir);
  const started = Date.now();
  try {
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], {
      cwd: userDir,
      env: { PATH: bin, HOME: process.env.HOME ?? os.homedir(), npm_config_update_notifier: 'false' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`npm install without a compiler failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  const installed = path.join(userDir, 'node_modules', PACKAGE);
  if (fs.existsSync(path.join(installed, 'build'))) throw new Error('the install built the addon (build/ exists): a prebuilt binary should have served');
  step(`installed into ${userDir} in ${((Date.now() - started) / 1000).toFixed(1)} s with PATH holding only node, npm and sh: no build, the prebuilt binary serves`);
  return userDir;
}

/** 3. Records an app through the installed package in a whole Node-RED. */
async function record(userDir: string): Promise<void> {
  let pulse: PulseServer | undefined;
  let player: Player | undefined;
  try {
    pulse = await startPulse({ own: true });
    player = playTone('demo-tone', 440, { seconds: 30 });
    const nodes = readExample('Record an app to WAV').map((node) =>
      node.name === 'start 10 s'
        ? { ...node, onceDelay: '1', props: [{ p: 'payload' }, { p: 'duration', v: '2', vt: 'num' }] }
        : node,
    );
    const red = await startNodeRed(nodes, { userDir });
    const recordings = path.join(userDir, 'recordings');
    try {
      await waitFor(() => /file written/.test(red.log()), 20000, 'wav sink to finish the recording');
    } finally {
      await red.stop();
    }
    if (/Waiting for missing types|Error loading|Failed to load/i.test(red.log())) {
      throw new Error(`Node-RED did not load the package cleanly:\n${red.log()}`);
    }
    const files = fs.readdirSync(recordings).filter((f) => f.endsWith('.wav'));
    if (files.length !== 1) throw new Error(`expected one WAV in ${recordings}, found ${files.join(', ') || 'none'}`);
    const wav = await readWav(path.join(recordings, files[0]));
    const seconds = wav.data.length / 4 / 48000;
    const level = medianToneAmplitude(channelSamples(wav.data, 's16le', 2, 0), 440, 48000);
    if (Math.abs(seconds - 2) > 0.05 || !(level > 0.3)) {
      throw new Error(`${files[0]}: ${seconds.toFixed(3)} s, the app's 440 Hz at ${level.toFixed(3)} (want 2 s at about 0.5)`);
    }
    step(`Node-RED recorded the app through the installed package: ${files[0]}, ${seconds.toFixed(2)} s, the tone at ${level.toFixed(2)} of full scale`);
  } finally {
    await player?.stop();
    await pulse?.stop();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-tap-pack-'));
  try {
    const tarball = pack(dir);
    const userDir = install(tarball, dir);
    await record(userDir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`check:pack failed: ${error.message}`);
    process.exit(1);
  },
);

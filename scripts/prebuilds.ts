/**
 * The prebuilt addons the package ships, and a check that each is the binary its directory
 * promises: node-gyp-build picks a file by its path alone (prebuilds/<platform>-<arch>/), so a
 * Linux build in a darwin directory, or an x64 one in linux-arm64, would only fail on the user's
 * machine, at load time.
 *
 *   node dist/scripts/prebuilds.js            the Linux prebuilts (npm run prebuild:linux)
 *   node dist/scripts/prebuilds.js --release  all of them: what a release publishes
 *
 * Prints one line per binary and exits non-zero if one is missing or of the wrong format.
 * Formats read from the file headers: ELF (System V ABI, and the ARM EABI's hard-float flag),
 * PE/COFF (Microsoft's PE format), Mach-O universal (Apple's <mach-o/fat.h>, <mach-o/loader.h>).
 */
import fs from 'fs';
import path from 'path';

/** One prebuilt addon: its path in the package, and what it must be. */
export interface Prebuild {
  /** Relative to the package root, as node-gyp-build looks for it. */
  file: string;
  /** Says what a release must ship it for, in the error when it is missing. */
  builtBy: string;
  /** Throws (with what is wrong) unless `bytes` (the whole file) is this binary; returns what it is. */
  identify(bytes: Buffer): string;
}

const ELF_MACHINES: Record<number, string> = { 62: 'x86-64', 183: 'AArch64', 40: 'ARM' };
const EF_ARM_ABI_FLOAT_HARD = 0x400;
const ET_DYN = 3;

/** An ELF shared object for `machine` (e_machine), 64-bit; for ARM, 32-bit hard-float. */
function elf(machine: number): (bytes: Buffer) => string {
  return (bytes) => {
    if (bytes.length < 52 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
    if (bytes[5] !== 1) throw new Error('not a little-endian ELF file');
    const type = bytes.readUInt16LE(16);
    const found = bytes.readUInt16LE(18);
    const name = ELF_MACHINES[found] ?? `machine ${found}`;
    if (found !== machine) throw new Error(`ELF for ${name}, not ${ELF_MACHINES[machine]}`);
    const bits = machine === 40 ? 32 : 64;
    if (bytes[4] !== bits / 32) throw new Error(`${name} ELF of class ${bytes[4]}, not ${bits}-bit`);
    if (type !== ET_DYN) throw new Error(`ELF of type ${type}, not a shared object`);
    if (machine === 40) {
      const flags = bytes.readUInt32LE(36);
      if (!(flags & EF_ARM_ABI_FLOAT_HARD)) throw new Error('ARM ELF without the hard-float ABI (Raspberry Pi OS is armhf)');
      return 'ELF shared object, ARM hard-float';
    }
    return `ELF shared object, ${name}`;
  };
}

const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
const IMAGE_FILE_DLL = 0x2000;

/** A PE DLL for x64. */
function peX64(bytes: Buffer): string {
  if (bytes.length < 64 || bytes.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a PE file (no MZ header)');
  const pe = bytes.readUInt32LE(0x3c);
  if (pe + 24 > bytes.length || bytes.readUInt32BE(pe) !== 0x50450000) throw new Error('not a PE file (no PE signature)');
  const machine = bytes.readUInt16LE(pe + 4);
  if (machine !== IMAGE_FILE_MACHINE_AMD64) throw new Error(`PE for machine 0x${machine.toString(16)}, not x64 (0x8664)`);
  if (!(bytes.readUInt16LE(pe + 22) & IMAGE_FILE_DLL)) throw new Error('PE x64 image that is not a DLL');
  return 'PE DLL, x64';
}

const FAT_MAGIC = 0xcafebabe;
const MH_MAGIC_64 = 0xfeedfacf;
const MH_BUNDLE = 8;
const CPU_TYPES: Record<number, string> = { 0x01000007: 'x86_64', 0x0100000c: 'arm64' };

/** A Mach-O universal file whose slices are bundles (what node-gyp links) for x86_64 and arm64. */
function machoUniversal(bytes: Buffer): string {
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== FAT_MAGIC) throw new Error('not a Mach-O universal file (build with prebuildify --arch x64+arm64)');
  const count = bytes.readUInt32BE(4);
  const arches: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const entry = 8 + 20 * i;
    if (entry + 20 > bytes.length) throw new Error('Mach-O universal header is cut short');
    const cpu = bytes.readUInt32BE(entry);
    const offset = bytes.readUInt32BE(entry + 8);
    const name = CPU_TYPES[cpu] ?? `cpu type 0x${cpu.toString(16)}`;
    if (offset + 16 > bytes.length || bytes.readUInt32LE(offset) !== MH_MAGIC_64) throw new Error(`the ${name} slice is not a 64-bit Mach-O`);
    const filetype = bytes.readUInt32LE(offset + 12);
    if (filetype !== MH_BUNDLE) throw new Error(`the ${name} slice is Mach-O file type ${filetype}, not a bundle (${MH_BUNDLE})`);
    arches.push(name);
  }
  for (const want of ['x86_64', 'arm64']) {
    if (!arches.includes(want)) throw new Error(`Mach-O universal without ${want} (has ${arches.join(', ') || 'no slices'})`);
  }
  return `Mach-O universal bundle, ${arches.join(' + ')}`;
}

const LINUX_BUILT_BY = 'npm run prebuild:linux';

/** The Linux prebuilts, cross-built on any Linux machine (npm run prebuild:linux). */
export const LINUX_PREBUILDS: Prebuild[] = [
  { file: 'prebuilds/linux-x64/node.napi.glibc.node', builtBy: LINUX_BUILT_BY, identify: elf(62) },
  { file: 'prebuilds/linux-arm64/node.napi.glibc.node', builtBy: LINUX_BUILT_BY, identify: elf(183) },
  { file: 'prebuilds/linux-arm/node.napi.armv7.glibc.node', builtBy: LINUX_BUILT_BY, identify: elf(40) },
];

/** Everything a release ships: the Linux ones, the macOS workflow's and the Windows workflow's. */
export const RELEASE_PREBUILDS: Prebuild[] = [
  ...LINUX_PREBUILDS,
  { file: 'prebuilds/darwin-x64+arm64/node.napi.node', builtBy: 'the macOS workflow (artifact prebuild-darwin-universal)', identify: machoUniversal },
  { file: 'prebuilds/win32-x64/node.napi.node', builtBy: 'the Windows workflow (artifact addon-mingw-win32-x64, renamed)', identify: peX64 },
];

/**
 * Checks each prebuild under `root`; returns one line per binary ("<file>: <what it is>").
 * Throws an Error naming every one that is missing or of the wrong format, and what builds it.
 */
export function checkPrebuilds(root: string, prebuilds: Prebuild[]): string[] {
  const lines: string[] = [];
  const problems: string[] = [];
  for (const prebuild of prebuilds) {
    const file = path.join(root, prebuild.file);
    if (!fs.existsSync(file)) {
      problems.push(`${prebuild.file} is missing: ${prebuild.builtBy} makes it`);
      continue;
    }
    try {
      lines.push(`${prebuild.file}: ${prebuild.identify(fs.readFileSync(file))}`);
    } catch (err) {
      problems.push(`${prebuild.file}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new Error(problems.join('; '));
  return lines;
}

if (require.main === module) {
  const release = process.argv.includes('--release');
  try {
    const root = path.resolve(__dirname, '..', '..');
    for (const line of checkPrebuilds(root, release ? RELEASE_PREBUILDS : LINUX_PREBUILDS)) console.log(`prebuilds: ${line}`);
  } catch (err) {
    console.error(`prebuilds: ${(err as Error).message}`);
    process.exit(1);
  }
}

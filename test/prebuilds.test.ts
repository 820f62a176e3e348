/** scripts/prebuilds.ts: each prebuilt addon is the binary its directory promises. */
import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { checkPrebuilds, LINUX_PREBUILDS, Prebuild, RELEASE_PREBUILDS } from '../scripts/prebuilds';

const root = path.resolve(__dirname, '..', '..');

function prebuild(file: string): Prebuild {
  const found = RELEASE_PREBUILDS.find((p) => p.file === file);
  if (!found) throw new Error(`no prebuild ${file}`);
  return found;
}

/** A minimal little-endian ELF header (class 1: 32-bit, 2: 64-bit): shared object, `machine`, e_flags `flags`. */
function elf(elfClass: number, machine: number, flags: number): Buffer {
  const bytes = Buffer.alloc(64);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes[4] = elfClass;
  bytes[5] = 1; // little-endian
  bytes.writeUInt16LE(3, 16); // ET_DYN
  bytes.writeUInt16LE(machine, 18);
  bytes.writeUInt32LE(flags, 36);
  return bytes;
}

/** A minimal PE header at 0x40: `machine`, `characteristics`. */
function pe(machine: number, characteristics: number): Buffer {
  const bytes = Buffer.alloc(0x40 + 24);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x40, 0x3c);
  bytes.writeUInt32BE(0x50450000, 0x40);
  bytes.writeUInt16LE(machine, 0x44);
  bytes.writeUInt16LE(characteristics, 0x40 + 22);
  return bytes;
}

/** A minimal Mach-O universal file: one 64-bit slice per [cpu type, file type]. */
function fat(slices: Array<[number, number]>): Buffer {
  const sliceBytes = 32;
  const first = 8 + 20 * slices.length;
  const bytes = Buffer.alloc(first + sliceBytes * slices.length);
  bytes.writeUInt32BE(0xcafebabe, 0);
  bytes.writeUInt32BE(slices.length, 4);
  slices.forEach(([cpu, filetype], i) => {
    const offset = first + sliceBytes * i;
    bytes.writeUInt32BE(cpu, 8 + 20 * i);
    bytes.writeUInt32BE(offset, 8 + 20 * i + 8);
    bytes.writeUInt32BE(sliceBytes, 8 + 20 * i + 12);
    bytes.writeUInt32LE(0xfeedfacf, offset);
    bytes.writeUInt32LE(cpu, offset + 4);
    bytes.writeUInt32LE(filetype, offset + 12);
  });
  return bytes;
}

const X86_64 = 0x01000007;
const ARM64 = 0x0100000c;
const MH_BUNDLE = 8;
const MH_DYLIB = 6;

describe('prebuilds (scripts/prebuilds.ts)', function () {
  const addon = path.join(root, 'build', 'Release', 'audiotap.node');

  it('knows this machine\'s build as x86-64 Linux, and refuses it where an ARM or another OS\'s binary belongs', function () {
    const bytes = fs.readFileSync(addon);
    assert.strictEqual(prebuild('prebuilds/linux-x64/node.napi.glibc.node').identify(bytes), 'ELF shared object, x86-64');
    assert.throws(() => prebuild('prebuilds/linux-arm64/node.napi.glibc.node').identify(bytes), /ELF for x86-64, not AArch64/);
    assert.throws(() => prebuild('prebuilds/linux-arm/node.napi.armv7.glibc.node').identify(bytes), /ELF for x86-64, not ARM/);
    assert.throws(() => prebuild('prebuilds/win32-x64/node.napi.node').identify(bytes), /not a PE file/);
    assert.throws(() => prebuild('prebuilds/darwin-x64+arm64/node.napi.node').identify(bytes), /not a Mach-O universal file/);
  });

  it('wants ARM binaries hard-float, as Raspberry Pi OS is', function () {
    const arm = prebuild('prebuilds/linux-arm/node.napi.armv7.glibc.node');
    assert.strictEqual(arm.identify(elf(1, 40, 0x05000400)), 'ELF shared object, ARM hard-float');
    assert.throws(() => arm.identify(elf(1, 40, 0x05000200)), /without the hard-float ABI/);
    assert.throws(() => prebuild('prebuilds/linux-arm64/node.napi.glibc.node').identify(elf(1, 183, 0)), /AArch64 ELF of class 1, not 64-bit/);
  });

  it('wants the Windows binary an x64 DLL', function () {
    const win = prebuild('prebuilds/win32-x64/node.napi.node');
    assert.strictEqual(win.identify(pe(0x8664, 0x2022)), 'PE DLL, x64');
    assert.throws(() => win.identify(pe(0x14c, 0x2102)), /machine 0x14c, not x64/);
    assert.throws(() => win.identify(pe(0x8664, 0x0022)), /not a DLL/);
  });

  it('wants the macOS binary universal, x86_64 and arm64 bundles', function () {
    const mac = prebuild('prebuilds/darwin-x64+arm64/node.napi.node');
    assert.strictEqual(mac.identify(fat([[X86_64, MH_BUNDLE], [ARM64, MH_BUNDLE]])), 'Mach-O universal bundle, x86_64 + arm64');
    assert.throws(() => mac.identify(fat([[ARM64, MH_BUNDLE]])), /without x86_64 \(has arm64\)/);
    assert.throws(() => mac.identify(fat([[X86_64, MH_BUNDLE], [ARM64, MH_DYLIB]])), /arm64 slice is Mach-O file type 6, not a bundle/);
  });

  it('names every missing or wrong binary at once, and what makes it', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prebuilds-'));
    try {
      const place = (file: string, bytes: Buffer): void => {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), bytes);
      };
      const x64 = fs.readFileSync(addon);
      place('prebuilds/linux-x64/node.napi.glibc.node', x64);
      place('prebuilds/linux-arm64/node.napi.glibc.node', x64);
      place('prebuilds/linux-arm/node.napi.armv7.glibc.node', elf(1, 40, 0x05000400));
      place('prebuilds/darwin-x64+arm64/node.napi.node', fat([[X86_64, MH_BUNDLE], [ARM64, MH_BUNDLE]]));
      assert.throws(
        () => checkPrebuilds(dir, RELEASE_PREBUILDS),
        (err: Error) =>
          /linux-arm64\/node\.napi\.glibc\.node: ELF for x86-64, not AArch64/.test(err.message) &&
          /win32-x64\/node\.napi\.node is missing: the Windows workflow/.test(err.message) &&
          !/linux-x64|linux-arm\/|darwin/.test(err.message),
      );
      place('prebuilds/linux-arm64/node.napi.glibc.node', elf(2, 183, 0));
      place('prebuilds/win32-x64/node.napi.node', pe(0x8664, 0x2022));
      const lines = checkPrebuilds(dir, RELEASE_PREBUILDS);
      assert.strictEqual(lines.length, 5);
      assert.deepStrictEqual(checkPrebuilds(dir, LINUX_PREBUILDS).length, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

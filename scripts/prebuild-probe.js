// Loads one prebuilt addon (the path in argv[2]) in whatever Node.js runs this (the machine's,
// or an arm64 / armv7 one under qemu-user: scripts/prebuild-qemu.sh) and prints, as one JSON
// line, what the check compares across architectures:
//   arch, backend     process.arch and the addon's backend name
//   eq, softClip      a fixed stereo f32 signal through a peaking biquad (+6 dB at 1 kHz, Q 1)
//                     and the soft clipper: every 97th output sample
//   apps              listApps() against the audio server in PULSE_SERVER: app names, or
//                     {error: code} (no libpulse for this architecture, no server)
// Plain JavaScript with no dependency: it runs where only the addon file is.
'use strict';

const addon = require(process.argv[2]);

const RATE = 48000;
const FRAMES = 4800;

function signal() {
  const samples = new Float32Array(FRAMES * 2);
  for (let i = 0; i < FRAMES; i++) {
    const t = i / RATE;
    samples[2 * i] = 0.4 * Math.sin(2 * Math.PI * 1000 * t) + 0.3 * Math.sin(2 * Math.PI * 150 * t);
    samples[2 * i + 1] = 0.9 * Math.sin(2 * Math.PI * 440 * t);
  }
  return samples;
}

// RBJ Audio EQ Cookbook peaking filter, normalised to (b0 b1 b2 a1 a2).
function peaking(freq, gainDb, q) {
  const a = Math.pow(10, gainDb / 40);
  const w0 = (2 * Math.PI * freq) / RATE;
  const alpha = Math.sin(w0) / (2 * q);
  const a0 = 1 + alpha / a;
  return new Float64Array([
    (1 + alpha * a) / a0, (-2 * Math.cos(w0)) / a0, (1 - alpha * a) / a0,
    (-2 * Math.cos(w0)) / a0, (1 - alpha / a) / a0,
  ]);
}

function every97(bytes) {
  const samples = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const out = [];
  for (let i = 0; i < samples.length; i += 97) out.push(samples[i]);
  return out;
}

async function main() {
  const input = new Uint8Array(signal().buffer);
  const eq = new addon.EqProcessor(2);
  eq.setTarget(peaking(1000, 6, 1), 1, 0);
  const eqOut = new Uint8Array(input.length);
  eq.process(input, eqOut, 1);
  const clip = new addon.SoftClipProcessor(2);
  clip.setTarget(2, 0.5, 0.95, 0);
  const clipOut = new Uint8Array(input.length);
  clip.process(input, clipOut, 1);
  let apps;
  try {
    apps = (await addon.listApps()).map((app) => app.name).sort();
  } catch (error) {
    apps = { error: error.code || String(error) };
  }
  process.stdout.write(JSON.stringify({
    arch: process.arch,
    backend: addon.backend(),
    eq: every97(eqOut),
    softClip: every97(clipOut),
    apps,
  }) + '\n');
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});

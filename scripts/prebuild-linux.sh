#!/usr/bin/env bash
# Builds the prebuilt Linux addons the package ships, into prebuilds/ where node-gyp-build
# finds them (at install: no compile; at run time: loaded when there is no build/Release):
#
#   prebuilds/linux-x64/node.napi.glibc.node          x86_64
#   prebuilds/linux-arm64/node.napi.glibc.node        aarch64 (Raspberry Pi OS 64-bit, ARM servers)
#   prebuilds/linux-arm/node.napi.armv7.glibc.node    ARMv7 hard-float (Raspberry Pi OS 32-bit)
#
# Built with Debian 11's compilers (GCC 10) against its C library (glibc 2.31), in a Debian 11
# root made by debootstrap (scripts/prebuild-toolchain.sh, made on first use, in
# PREBUILD_ROOT, default /opt/audio-tap-bullseye): so the binaries load on glibc 2.31 and later
# with GCC 10's libstdc++ or later (Ubuntu 20.04, Debian 11, Raspberry Pi OS 11, and newer),
# which scripts/prebuild-abi.sh checks from their symbol versions.
#
# Node-API (NAPI_VERSION 8): one binary per OS and architecture serves every Node.js from 20 on.
# libpulse and libpipewire are opened at run time (dlopen), so only their headers are needed:
# the build machine's (/usr/include/pulse, pipewire-0.3, spa-0.2; the same on every
# architecture), copied into the root with the sources. The sources, defines and flags are
# binding.gyp's (scripts/gyp-sources.js). The "glibc" tag keeps node-gyp-build from picking
# these on musl (Alpine), which compiles instead.
#
#   npm run prebuild:linux                           all three
#   PREBUILD_ARCHS="arm64" npm run prebuild:linux
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
archs=${PREBUILD_ARCHS:-x64 arm64 arm}
sysroot=${PREBUILD_ROOT:-/opt/audio-tap-bullseye}

[[ -x "$sysroot/usr/bin/aarch64-linux-gnu-g++" ]] || bash scripts/prebuild-toolchain.sh "$sysroot"

# <node arch> -> the compiler in the root
compiler() {
  case "$1" in
    x64) echo x86_64-linux-gnu-g++ ;;
    arm64) echo aarch64-linux-gnu-g++ ;;
    arm) echo arm-linux-gnueabihf-g++ ;;
    *) echo "prebuild-linux: unknown architecture $1 (x64, arm64 or arm)" >&2; return 1 ;;
  esac
}

# prebuilds/<platform>-<arch>/<file name>, as node-gyp-build matches them.
file_name() {
  case "$1" in
    arm) echo node.napi.armv7.glibc.node ;;
    *) echo node.napi.glibc.node ;;
  esac
}

# What the compilers see, under /audio-tap in the root: the sources and every header.
stage=$sysroot/audio-tap
rm -rf "$stage"
mkdir -p "$stage/include"
cp -r native "$stage/"
cp -r "$(node -p "require('node-api-headers').include_dir")"/. "$stage/include/"
cp -r "$(node -p "require('node-addon-api').include_dir")"/*.h "$stage/include/"
cp -r /usr/include/pulse "$stage/include/"
cp -r /usr/include/pipewire-0.3/. /usr/include/spa-0.2/. "$stage/include/"

gyp_json=$(node scripts/gyp-sources.js linux binding.gyp)
mapfile -t sources < <(node -e 'for (const s of JSON.parse(process.argv[1]).sources) console.log(s)' "$gyp_json")
mapfile -t defines < <(node -e 'for (const d of JSON.parse(process.argv[1]).defines) console.log("-D" + d)' "$gyp_json")
mapfile -t libs < <(node -e 'for (const l of JSON.parse(process.argv[1]).libraries) console.log(l)' "$gyp_json")

status=0
built=()
for arch in $archs; do
  cxx=$(compiler "$arch")
  out=/audio-tap/out/$arch
  mkdir -p "$sysroot$out"
  echo "prebuild-linux: $arch with $cxx $(chroot "$sysroot" "$cxx" -dumpversion) (Debian 11, glibc 2.31), ${#sources[@]} sources"
  # Two compiles at a time (the machines this runs on have 2 cores), in the root.
  if ! chroot "$sysroot" /bin/bash -c '
      set -euo pipefail
      cd /audio-tap
      cxx=$1 out=$2
      shift 2
      flags=(-std=c++17 -O3 -fPIC -Wall -Wextra -Wno-unused-parameter -Wno-psabi -DBUILDING_NODE_EXTENSION
             -Iinclude -Inative)
      objects=()
      while [[ $1 != -- ]]; do flags+=("$1"); shift; done
      shift
      pids=()
      for src in "$@"; do
        case "$src" in -l*) continue ;; esac
        o=$out/$(basename "${src%.*}").o
        objects+=("$o")
        "$cxx" "${flags[@]}" -c "$src" -o "$o" 2>"$o.log" &
        pids+=($!)
        if ((${#pids[@]} >= 2)); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
      done
      for pid in "${pids[@]}"; do wait "$pid"; done
      cat "$out"/*.log
      libs=()
      for arg in "$@"; do case "$arg" in -l*) libs+=("$arg") ;; esac; done
      "$cxx" -shared -o "$out/audiotap.node" "${objects[@]}" "${libs[@]}" -Wl,--as-needed
      ' sh "$cxx" "$out" "${defines[@]}" -- "${sources[@]}" "${libs[@]}" >"$root/build/prebuild-$arch.log" 2>&1; then
    cat "$root/build/prebuild-$arch.log" >&2
    echo "prebuild-linux: $arch FAILED" >&2
    status=1
    continue
  fi
  [[ -s "$root/build/prebuild-$arch.log" ]] && cat "$root/build/prebuild-$arch.log"
  dest=$root/prebuilds/linux-$arch
  mkdir -p "$dest"
  chroot "$sysroot" "${cxx%g++}strip" --strip-unneeded -o "$out/$(file_name "$arch")" "$out/audiotap.node"
  cp "$sysroot$out/$(file_name "$arch")" "$dest/"
  built+=("$dest/$(file_name "$arch")")
done

for binary in "${built[@]}"; do
  bash scripts/prebuild-abi.sh "$binary" || status=1
done
exit $status

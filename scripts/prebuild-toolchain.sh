#!/usr/bin/env bash
# Makes the Debian 11 (bullseye) root the prebuilt Linux addons are compiled in
# (scripts/prebuild-linux.sh): GCC 10 for x86_64, aarch64 and armhf, against glibc 2.31, so
# the binaries load on Ubuntu 20.04, Debian 11, Raspberry Pi OS 11 and anything newer. Needs
# root and debootstrap (apt-get install debootstrap); downloads about 150 MB from
# deb.debian.org. Nothing of it is committed: it lives outside the repository.
#
#   bash scripts/prebuild-toolchain.sh [/opt/audio-tap-bullseye]
set -euo pipefail

dir=${1:-/opt/audio-tap-bullseye}
mirror=${PREBUILD_MIRROR:-http://deb.debian.org/debian}
if ! command -v debootstrap >/dev/null; then
  echo "prebuild-toolchain: debootstrap not found (apt-get install debootstrap)" >&2
  exit 1
fi
echo "prebuild-toolchain: a Debian 11 root with GCC 10 cross compilers in $dir (a few minutes)"
rm -rf "$dir"
debootstrap --variant=minbase \
  --include=g++,g++-aarch64-linux-gnu,g++-arm-linux-gnueabihf \
  bullseye "$dir" "$mirror" >"$dir.log" 2>&1 || {
  tail -20 "$dir.log" >&2
  echo "prebuild-toolchain: debootstrap failed (the whole log: $dir.log)" >&2
  exit 1
}
echo "prebuild-toolchain: done ($(chroot "$dir" g++ -dumpversion), $(chroot "$dir" ldd --version | head -n 1))"

#!/usr/bin/env bash
# Checks a prebuilt Linux addon against the oldest systems it is meant to load on: its ELF
# machine matches its prebuilds/ directory, and the newest glibc (GLIBC_x.y) and libstdc++
# (GLIBCXX_3.4.n) symbol versions it needs are at most
#   PREBUILD_MAX_GLIBC    (default 2.31: Ubuntu 20.04, Debian 11 and Raspberry Pi OS 11)
#   PREBUILD_MAX_GLIBCXX  (default 3.4.28: GCC 10's libstdc++, the same systems)
# Prints one line per binary:
#   prebuild-abi: prebuilds/linux-arm64/node.napi.glibc.node: AArch64, needs GLIBC_2.17, GLIBCXX_3.4.21: ok
#
#   bash scripts/prebuild-abi.sh prebuilds/linux-*/*.node
set -euo pipefail

max_glibc=${PREBUILD_MAX_GLIBC:-2.31}
max_glibcxx=${PREBUILD_MAX_GLIBCXX:-3.4.28}
status=0

# The newest version among `readelf -V`'s needs for one prefix ("GLIBC_" or "GLIBCXX_"), or "".
newest() {
  grep -oE "Name: $2[0-9.]+" <<<"$1" | sed "s/Name: $2//" | sort -V | tail -n 1
}

# True when version $1 <= $2.
at_most() {
  [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" == "$2" ]]
}

for binary in "$@"; do
  machine=$(readelf -h "$binary" | sed -n 's/^ *Machine: *//p')
  case "$binary" in
    *linux-x64/*) want="Advanced Micro Devices X86-64" ;;
    *linux-arm64/*) want="AArch64" ;;
    *linux-arm/*) want="ARM" ;;
    *) want="$machine" ;;
  esac
  needs=$(readelf -V "$binary")
  glibc=$(newest "$needs" GLIBC_)
  glibcxx=$(newest "$needs" GLIBCXX_)
  problems=()
  [[ "$machine" == "$want" ]] || problems+=("machine $machine, not $want")
  if [[ -n "$glibc" ]] && ! at_most "$glibc" "$max_glibc"; then
    problems+=("GLIBC_$glibc is newer than $max_glibc")
  fi
  if [[ -n "$glibcxx" ]] && ! at_most "$glibcxx" "$max_glibcxx"; then
    problems+=("GLIBCXX_$glibcxx is newer than $max_glibcxx")
  fi
  verdict=ok
  if ((${#problems[@]})); then
    verdict="FAILED: $(IFS=';'; echo "${problems[*]}")"
    status=1
  fi
  echo "prebuild-abi: $binary: $machine, needs GLIBC_${glibc:-none}, GLIBCXX_${glibcxx:-none}: $verdict"
done
exit $status

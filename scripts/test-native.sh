#!/usr/bin/env bash
# Builds and runs the C++ unit tests of native logic that needs no OS audio API
# (test/macos/tap_logic_test.cc over native/tap_logic.cc). Any C++17 compiler: g++ on Linux,
# Xcode's clang++ on macOS (set CXX to choose).
set -euo pipefail

cd "$(dirname "$0")/.."

CXX="${CXX:-$(command -v g++ || command -v clang++ || true)}"
if [[ -z "$CXX" ]]; then
  echo "test:native failed: no C++ compiler (install g++ or clang++, or set CXX)" >&2
  exit 1
fi

out_dir=build/test-native
mkdir -p "$out_dir"
# capture_core.cc provides BytesPerSample.
"$CXX" -std=c++17 -O1 -g -Wall -Wextra -Werror -pthread -I native \
  native/tap_logic.cc native/capture_core.cc test/macos/tap_logic_test.cc -o "$out_dir/tap_logic_test"
"$out_dir/tap_logic_test"

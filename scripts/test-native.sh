#!/usr/bin/env bash
# Builds and runs the C++ unit tests of the native code that needs no OS audio API, from
# test/native/ (which mirrors native/; check.h is the harness they share):
#   tap_logic_test     native/backends/macos/tap_logic.cc (the macOS backend's platform-neutral logic)
#   capture_core_test  native/core/capture_core.cc (mixing, tracks, timed placement, timeline, stop flush, drops) and
#                      native/core/track_set.cc (a multitrack capture's tracks), built with
#                      AUDIOTAP_TEST_CLOCK (a clock the tests advance by hand; test builds only)
#   spsc_ring_test     native/core/spsc_ring.h (the lock-free ring)
#   frame_stamp_test   native/core/frame_stamp.h (a stream's latest timestamp, across threads)
#   thread_wake_test   native/core/control_thread.h (the macOS sessions' control thread) and
#                      native/core/drain_wake.h (how the capture core's drain sleeps and is woken)
#   app_list_test      native/core/app_list.cc (streams to the app list every backend returns)
#   app_follow_test    native/core/app_follow.cc (the follow rules of an app capture, every backend)
#   audibility_test    native/backends/linux/audibility.cc (when a Linux capture is silent for a known cause)
#   channel_groups_test native/dsp/channel_groups.h (eq and soft clip over N channels: a multitrack message)
# Two builds: every test under AddressSanitizer + UndefinedBehaviorSanitizer ("asan+ubsan"),
# then the ring, the frame stamp, the thread wake and the capture core's drain-thread tests (named Threaded*)
# under ThreadSanitizer ("tsan"). Each binary run prints one summary line,
#   test-native: <build> <binary>: N tests, N checks, N failed (exit N)
# which test/native/native.test.ts checks. Exits non-zero if any build or run failed.
# Any C++17 compiler with the sanitizers: g++ on Linux (Debian 12: libasan8, libubsan1,
# libtsan2, all pulled in by g++), Xcode's clang++ on macOS (set CXX to choose).
set -euo pipefail

cd "$(dirname "$0")/.."

CXX="${CXX:-$(command -v g++ || command -v clang++ || true)}"
if [[ -z "$CXX" ]]; then
  echo "test:native failed: no C++ compiler (install g++ or clang++, or set CXX)" >&2
  exit 1
fi

out_dir=build/test-native
mkdir -p "$out_dir/asan" "$out_dir/tsan"

# -fno-builtin-memcpy/memset: g++ otherwise expands some copies inline (rep movs), which
# TSan does not see: the ring test with every memory order made relaxed then passed under TSan.
# As library calls they go through the sanitizers' interceptors.
common=(-std=c++17 -O1 -g -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer
        -fno-builtin-memcpy -fno-builtin-memset -I native -I test/native)
asan=(-fsanitize=address,undefined -fno-sanitize-recover=all)
tsan=(-fsanitize=thread)
test_clock=(-DAUDIOTAP_TEST_CLOCK)

# Sanitizer reports end the run with a non-zero status (and a stack) instead of a warning.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

status=0
pids=()
names=()

# compile <build> <binary> <flags and sources...>: in the background, its log next to it.
compile() {
  local build=$1 binary=$2
  shift 2
  "$CXX" "${common[@]}" "$@" -o "$out_dir/$build/$binary" >"$out_dir/$build/$binary.log" 2>&1 &
  pids+=($!)
  names+=("$build/$binary")
}

wait_all() {
  local i
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      echo "test-native: ${names[$i]%%/*} ${names[$i]#*/}: build failed" >&2
      cat "$out_dir/${names[$i]}.log" >&2
      status=1
    fi
  done
  pids=()
  names=()
}

# run <build> <binary> [test name filters...]: runs it, prints its summary line.
run() {
  local build=$1 binary=$2 exe="$out_dir/$1/$2"
  shift 2
  if [[ ! -x "$exe" ]]; then
    echo "test-native: $build $binary: not built"
    status=1
    return
  fi
  local log="$out_dir/$build/$binary.out" code=0
  "$exe" "$@" >"$log" 2>&1 || code=$?
  cat "$log"
  local summary
  summary=$(grep -E '^[0-9]+ tests, [0-9]+ checks, [0-9]+ failed$' "$log" | tail -n 1 || true)
  [[ -n "$summary" ]] || summary="no summary (crashed or killed)"
  echo "test-native: $build $binary: $summary (exit $code)"
  [[ $code -eq 0 ]] || status=1
}

# The build of each binary is removed first: a stale binary must not pass for a failed build.
rm -f "$out_dir"/asan/*_test "$out_dir"/tsan/*_test

# Two compiles at a time (the machines this runs on have 2 cores).
# engine.cc provides BytesPerSample to tap_logic.cc; tap_logic_test uses no test clock.
compile asan tap_logic_test "${asan[@]}" \
  native/backends/macos/tap_logic.cc native/core/app_list.cc native/core/engine.cc \
  test/native/backends/macos/tap_logic_test.cc
compile asan spsc_ring_test "${asan[@]}" test/native/core/spsc_ring_test.cc
wait_all
compile asan app_list_test "${asan[@]}" native/core/app_list.cc test/native/core/app_list_test.cc
compile asan frame_stamp_test "${asan[@]}" test/native/core/frame_stamp_test.cc
wait_all
compile tsan frame_stamp_test "${tsan[@]}" test/native/core/frame_stamp_test.cc
compile asan app_follow_test "${asan[@]}" native/core/app_follow.cc test/native/core/app_follow_test.cc
wait_all
compile asan audibility_test "${asan[@]}" native/backends/linux/audibility.cc \
  test/native/backends/linux/audibility_test.cc
compile asan thread_wake_test "${asan[@]}" test/native/core/thread_wake_test.cc
wait_all
compile tsan thread_wake_test "${tsan[@]}" test/native/core/thread_wake_test.cc
compile asan capture_core_test "${asan[@]}" "${test_clock[@]}" \
  native/core/engine.cc native/core/capture_core.cc native/core/channel_mix.cc \
  native/core/track_set.cc test/native/core/capture_core*_test.cc
wait_all
compile tsan spsc_ring_test "${tsan[@]}" test/native/core/spsc_ring_test.cc
compile asan channel_groups_test "${asan[@]}" native/core/engine.cc native/dsp/biquad_cascade.cc \
  native/dsp/soft_clipper.cc test/native/dsp/channel_groups_test.cc
wait_all
compile tsan capture_core_test "${tsan[@]}" "${test_clock[@]}" \
  native/core/engine.cc native/core/capture_core.cc native/core/channel_mix.cc \
  native/core/track_set.cc test/native/core/capture_core*_test.cc
wait_all

run asan tap_logic_test
run asan spsc_ring_test
run asan frame_stamp_test
run asan app_list_test
run asan app_follow_test
run asan audibility_test
run asan thread_wake_test
run asan capture_core_test
run asan channel_groups_test
run tsan spsc_ring_test
run tsan frame_stamp_test
run tsan thread_wake_test
# Five rounds: whether two threads race over a slot depends on how they interleave.
run tsan capture_core_test Threaded --repeat=5

if [[ $status -ne 0 ]]; then
  echo "test:native failed" >&2
fi
exit $status

#!/usr/bin/env bash
# Measures the two ways to capture one app on PipeWire (docs/linux.md, "The native PipeWire
# route"), on a private headless stack like the test suite's (test/helpers/pipewire.ts):
#   pulse route   what the package does: a monitor stream of the app's sink-input through
#                 pipewire-pulse (here `parec --monitor-stream`, the protocol's reference client)
#   native route  a PipeWire capture node not linked by the session manager, the app's output
#                 ports linked to it (here `pw-record --target 0` and `pw-link`)
# and what WirePlumber does around the native route's mute (unlinking the app from its sink).
# Prints one line per figure. Needs: pipewire pipewire-bin wireplumber pipewire-pulse
# dbus-daemon pulseaudio-utils sox bc. Run as `bash bench/pipewire-route.sh [seconds]`
# (CPU window, default 20); nothing else should load the machine meanwhile.
set -euo pipefail

seconds=${1:-20}
root=$(mktemp -d /tmp/audio-tap-pw-route.XXXXXX)
pids=()
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

for d in runtime config/pipewire/pipewire.conf.d home state data; do mkdir -p "$root/$d"; done
chmod 700 "$root"/*
cat >"$root/config/pipewire/pipewire.conf.d/sink.conf" <<'EOF'
context.objects = [
  { factory = adapter
    args = {
      factory.name = support.null-audio-sink
      node.name = "route_sink"
      media.class = Audio/Sink
      audio.rate = 48000
      audio.channels = 2
      audio.position = [ FL FR ]
      monitor.channel-volumes = true
      object.linger = true
    }
  }
]
EOF
export HOME=$root/home XDG_RUNTIME_DIR=$root/runtime XDG_CONFIG_HOME=$root/config \
  XDG_STATE_HOME=$root/state XDG_DATA_HOME=$root/data PIPEWIRE_RUNTIME_DIR=$root/runtime \
  DISABLE_RTKIT=1 DBUS_SESSION_BUS_ADDRESS=unix:path=$root/runtime/bus \
  PULSE_SERVER=unix:$root/runtime/pulse/native
unset PIPEWIRE_REMOTE

wait_for() { # wait_for <file>
  local i
  for i in $(seq 100); do [[ -e $1 ]] && return 0; sleep 0.1; done
  echo "pipewire-route: $1 did not appear" >&2
  exit 1
}
start() { "$@" >>"$root/log" 2>&1 & pids+=($!); }
start dbus-daemon --session --nofork --nopidfile --address="unix:path=$root/runtime/bus"
wait_for "$root/runtime/bus"
start pipewire
wait_for "$root/runtime/pipewire-0"
start wireplumber
wireplumber_pid=${pids[-1]}
start pipewire-pulse
wait_for "$root/runtime/pulse/native"
sleep 1
daemons=("${pids[@]:1}")

# play <name> <Hz>: an app playing a sine through the pulse protocol, as most apps do.
play() {
  sox -n -r 48000 -c 2 -b 16 -e signed -t raw - synth 600 sine "$2" vol 0.5 2>/dev/null |
    pacat --raw --format=s16le --rate=48000 --channels=2 --client-name="$1" --stream-name="$1" &
  pids+=($!)
}
# level <file> <low-high Hz> [trim args]: RMS of the band, in dBFS (f32 stereo 48 kHz raw).
level() {
  local rms
  rms=$(sox -t raw -r 48000 -c 2 -e float -b 32 "$1" -n ${3:+trim $3} sinc "$2" stat 2>&1 |
    awk '/RMS     amp/ {print $3}')
  echo "20 * l($rms + 0.0000001) / l(10)" | bc -l | xargs printf '%.1f'
}
# ticks <pid>...: utime + stime of the processes, in clock ticks.
ticks() {
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
# cpu <seconds> <pid>...: % of one core the processes used over the window.
cpu() {
  local window=$1 before after
  shift
  before=$(ticks "$@")
  sleep "$window"
  after=$(ticks "$@")
  echo "scale=2; ($after - $before) * 100 / ($(getconf CLK_TCK) * $window)" | bc
}
links_of() { pw-link -l | awk -v app="$1" '$0 ~ "^"app":" {on=1; next} /^[^ ]/ {on=0} on {print $2}' | sort -u | tr '\n' ' '; }
sink_input_of() { pactl list sink-inputs | awk -v app="$1" '/^Sink Input #/ {id=substr($3, 2)} $0 ~ "application.name = \""app"\"" {print id}'; }

play tone_a 440
play tone_b 1000
sleep 1.5

echo "pipewire-route: PipeWire $(pipewire --version | awk '/libpipewire/ {print $NF; exit}'), WirePlumber $(wireplumber --version | awk '/libwireplumber/ {print $NF; exit}'), ${seconds} s windows"
echo "idle (two apps playing, no capture): $(cpu "$seconds" "${daemons[@]}") % of a core (daemons)"

# The pulse route: a monitor stream of tone_a's sink-input.
parec --monitor-stream="$(sink_input_of tone_a)" --raw --format=float32le --rate=48000 --channels=2 \
  >"$root/pulse.raw" 2>>"$root/log" &
parec_pid=$!
pids+=($parec_pid)
sleep 1
echo "pulse route: $(cpu "$seconds" "${daemons[@]}") % (daemons) + $(cpu "$seconds" $parec_pid) % (client)"
kill $parec_pid
echo "pulse route isolation: tone_a $(level "$root/pulse.raw" 350-530 1) dBFS, tone_b $(level "$root/pulse.raw" 900-1100 1) dBFS"

# The native route: a capture node the session manager leaves alone, tone_a's ports linked to it.
pw-record --target 0 -P '{ node.name = "route_capture" }' --rate 48000 --channels 2 --format f32 \
  - >"$root/native.raw" 2>>"$root/log" &
record_pid=$!
pids+=($record_pid)
sleep 0.5
for ch in FL FR; do pw-link "tone_a:output_$ch" "route_capture:input_$ch"; done
sleep 1
echo "native route: $(cpu "$seconds" "${daemons[@]}") % (daemons) + $(cpu "$seconds" $record_pid) % (client)"
echo "native route isolation: tone_a $(level "$root/native.raw" 350-530 1) dBFS, tone_b $(level "$root/native.raw" 900-1100 1) dBFS"

# Mute by unlinking tone_a from its sink: does WirePlumber link it again?
parec -d route_sink.monitor --latency-msec=20 --raw --format=float32le --rate=48000 --channels=2 >"$root/mix.raw" 2>>"$root/log" &
pids+=($!)
sleep 1
echo "before the mute, sink mix: tone_a $(level "$root/mix.raw" 350-530 0.2) dBFS"
for ch in FL FR; do pw-link -d "tone_a:output_$ch" "route_sink:playback_$ch"; done
unlinked=$(($(stat -c %s "$root/mix.raw") / 8))
sleep 3
echo "mute by unlinking: 3 s later tone_a links to: $(links_of tone_a)"
play tone_c 2000 # a new stream: WirePlumber rescans every stream
sleep 2
echo "after a new stream (a rescan): tone_a links to: $(links_of tone_a); sink mix since the unlink: tone_a $(level "$root/mix.raw" 350-530 "$((unlinked + 4800))s") dBFS, tone_b $(level "$root/mix.raw" 900-1100 "$((unlinked + 4800))s") dBFS, capture: tone_a $(level "$root/native.raw" 350-530 -3) dBFS"
kill $record_pid
sleep 1
echo "capture closed: tone_a links to: $(links_of tone_a) (nothing: WirePlumber still counts it linked to its sink)"

# Putting it back by a link of the capture's own: a later move by the user keeps that link.
for ch in FL FR; do pw-link "tone_a:output_$ch" "route_sink:playback_$ch"; done
pactl load-module module-null-sink sink_name=route_other >/dev/null
sleep 0.5
pactl move-sink-input "$(sink_input_of tone_a)" route_other
sleep 1
echo "relinked by the capture, then moved by the user: tone_a links to: $(links_of tone_a)"

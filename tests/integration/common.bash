# shellcheck shell=bash disable=SC2034,SC2016  # a sourced library: its arrays are used by the scripts; bash -c bodies are quoted on purpose
# Shared by the integration test scripts (sourced, not run): a private temp
# dir, processes started in the background and stopped by PID, socat pty
# pairs, bounded waits, and failure reports that print every log in the
# temp dir. Everything started is killed and the temp dir removed on exit,
# whatever the exit.
set -euo pipefail

TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-integ-XXXXXX")
declare -A PID_OF=()  # name -> PID of what start_bg started

# alive PID: the process exists and is not a zombie (an exited child of
# ours that is not reaped yet still answers kill -0).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it
  local pid=$1 i
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local name
  for name in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$name]}"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$TMP"/*.log "$TMP"/*.out "$TMP"/*.err; do
    [[ -s $f ]] || continue
    # weft's own warnings and worse first: a dump at the end of a log
    # would push the line that says why out of the tail.
    if grep -qE '^[0-9T:.-]+ (warn|error|critical) ' "$f"; then
      echo "--- ${f##*/} (warnings and errors, first 30):" >&2
      grep -E '^[0-9T:.-]+ (warn|error|critical) ' "$f" | head -n 30 >&2
    fi
    echo "--- ${f##*/} (last 60 lines):" >&2
    tail -n 60 "$f" >&2
  done
  exit 1
}

note() { echo "# $*"; }

# start_bg NAME CMD...: runs CMD in the background, output in $TMP/NAME.log.
start_bg() {
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  PID_OF[$name]=$!
}

# stop NAME: stops what start_bg NAME started (by its PID).
stop() {
  local name=$1 pid=${PID_OF[$1]:-}
  [[ -n $pid ]] || return 0
  stop_pid "$pid"
  unset "PID_OF[$name]"
}

# wait_exit NAME SECONDS: waits for NAME to exit by itself; its status in $EXIT_STATUS.
wait_exit() {
  local name=$1 secs=$2 pid=${PID_OF[$1]} deadline
  deadline=$((SECONDS + secs))
  while alive "$pid"; do
    ((SECONDS < deadline)) || fail "$name (PID $pid) did not exit within $secs s"
    sleep 0.05
  done
  EXIT_STATUS=0
  wait "$pid" || EXIT_STATUS=$?
  unset "PID_OF[$name]"
}

running() { alive "${PID_OF[$1]}"; }

# wait_grep SECONDS FILE ERE [FROM_LINE]: until FILE has a line matching ERE
# (after line FROM_LINE, default 0).
wait_grep() {
  local secs=$1 file=$2 re=$3 from=${4:-0}
  timeout "$secs" bash -c 'until tail -n +"$(($3 + 1))" "$1" 2>/dev/null | grep -qE -- "$2"; do sleep 0.05; done' \
    _ "$file" "$re" "$from" || fail "no line matching /$re/ in ${file##*/} within $secs s"
}

# wait_fixed SECONDS FILE TEXT [FROM_LINE]: as wait_grep, for a fixed string.
wait_fixed() {
  local secs=$1 file=$2 text=$3 from=${4:-0}
  timeout "$secs" bash -c 'until tail -n +"$(($3 + 1))" "$1" 2>/dev/null | grep -qF -- "$2"; do sleep 0.05; done' \
    _ "$file" "$text" "$from" || fail "no line containing '$text' in ${file##*/} after line $from within $secs s"
}

# count_fixed FILE TEXT: lines of FILE containing TEXT (0 if none).
count_fixed() { grep -cF -- "$2" "$1" || true; }

# wait_file SECONDS PATH: until PATH exists.
wait_file() {
  timeout "$1" bash -c 'until [[ -e $1 ]]; do sleep 0.02; done' _ "$2" || fail "$2 did not appear within $1 s"
}

lines() { wc -l <"$1"; }

# start_socat NAME DIR: a pty pair with links DIR/a and DIR/b (the same paths
# on every restart), waited for.
start_socat() {
  local name=$1 dir=$2
  mkdir -p "$dir"
  rm -f "$dir/a" "$dir/b"
  start_bg "$name" socat -d -d "pty,raw,echo=0,link=$dir/a" "pty,raw,echo=0,link=$dir/b"
  wait_file 5 "$dir/a"
  wait_file 5 "$dir/b"
}

# devsim_config FILE PTY_LINK: a gather config whose port "bus" (19200 8E1)
# has two simulated instruments with constant values, so every register
# and bit a Modbus master reads is known exactly:
#   unit 5  holding 10 = 1234 (uint16)      holding 11 = 65531 (int16 -5)
#           holding 12..13 = 16320, 0 (float32 1.5, abcd)
#           holding 14 = 123 (uint16, scale 0.1, value 12.3)
#           input 20..21 = 1, 4464 (uint32 70000)
#           coils 3, 4, 5 = 1, 0, 1       discrete 7, 8 = 1, 0
#   unit 6  holding 0 = 77
# Anything else is unmapped (exception 2).
devsim_config() {
  cat >"$1" <<TOML
[service.gather]

[[serial]]
name = "bus"
path = "$2"
baud = 19200
parity = "E"

[[instrument]]
name = "meter"
port = "bus"
unit = 5

  [[instrument.point]]
  name = "u16"
  table = "holding"
  address = 10
  sim = { model = "constant", value = 1234 }

  [[instrument.point]]
  name = "i16"
  table = "holding"
  address = 11
  type = "int16"
  sim = { model = "constant", value = -5 }

  [[instrument.point]]
  name = "f32"
  table = "holding"
  address = 12
  type = "float32"
  sim = { model = "constant", value = 1.5 }

  [[instrument.point]]
  name = "scaled"
  table = "holding"
  address = 14
  scale = 0.1
  sim = { model = "constant", value = 12.3 }

  [[instrument.point]]
  name = "u32"
  table = "input"
  address = 20
  type = "uint32"
  sim = { model = "constant", value = 70000 }

  [[instrument.point]]
  name = "c3"
  table = "coil"
  address = 3
  sim = { model = "constant", value = 1 }

  [[instrument.point]]
  name = "c4"
  table = "coil"
  address = 4
  sim = { model = "constant", value = 0 }

  [[instrument.point]]
  name = "c5"
  table = "coil"
  address = 5
  sim = { model = "constant", value = 1 }

  [[instrument.point]]
  name = "d7"
  table = "discrete"
  address = 7
  sim = { model = "constant", value = 1 }

  [[instrument.point]]
  name = "d8"
  table = "discrete"
  address = 8
  sim = { model = "constant", value = 0 }

[[instrument]]
name = "other"
port = "bus"
unit = 6

  [[instrument.point]]
  name = "h0"
  table = "holding"
  address = 0
  sim = { model = "constant", value = 77 }
TOML
}

# The checks both Modbus clients (libmodbus, pymodbus) run against devsim_config's unit 5.
DEVSIM_UNIT5_CHECKS=(
  "hr:10=1234,65531,16320,0,123"
  "hr:12=16320,0"
  "ir:20=1,4464"
  "co:3=1,0,1"
  "di:7=1,0"
  "ex:hr:50:1=2"
  "ex:hr:14:2=2"
  "ex:ir:19:2=2"
  "ex:co:100:1=2"
  "ex:di:6:1=2"
)

# start_devsim DEVSIM CONFIG LINK: weft-devsim serving port "bus" on a pty at LINK.
start_devsim() {
  start_bg devsim "$1" --config "$2" --port bus --pty-link "$3"
  wait_file 5 "$3"
  wait_grep 5 "$TMP/devsim.log" "serving 2 simulated unit"
}

# weftd_config FILE TTY [INSTRUMENT_EXTRA]: a weftd config that polls the
# libmodbus server (tests/peers/modbus_rtu_server, unit 17, 19200 8E1) on
# TTY every 250 ms with gather, and logs every reading with tap. Lock files
# go to $TMP/lock. INSTRUMENT_EXTRA: more keys for the "plc" instrument.
# Expected readings (the server's fixed contents):
#   plc.h100 = 1000    plc.h101 = 100.1 (scale 0.1)
#   plc.h102 = 65668075 (uint32 from 1002, 1003)
#   plc.h104 = 65864684 (uint32 cdab from 1004, 1005)
#   plc.in0 = 2000     plc.in9 = 2009
#   plc.coil0 = true   plc.coil1 = false   plc.di3 = true   plc.di4 = false
# and "ghost.h200" (unit 17, holding 200: unmapped) = nan (comm-error).
weftd_config() {
  mkdir -p "$TMP/lock"
  cat >"$1" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[service.gather]
lock_dir = "$TMP/lock"

[service.tap]
pattern = "*"

[[serial]]
name = "plc_bus"
path = "$2"
baud = 19200
parity = "E"
response_timeout = "300ms"
retries = 1
reopen_min = "100ms"
reopen_max = "400ms"

[[instrument]]
name = "plc"
port = "plc_bus"
unit = 17
period = "250ms"
${3:-}

  [[instrument.point]]
  name = "h100"
  table = "holding"
  address = 100

  [[instrument.point]]
  name = "h101"
  table = "holding"
  address = 101
  scale = 0.1

  [[instrument.point]]
  name = "h102"
  table = "holding"
  address = 102
  type = "uint32"

  [[instrument.point]]
  name = "h104"
  table = "holding"
  address = 104
  type = "uint32"
  order = "cdab"

  [[instrument.point]]
  name = "in0"
  table = "input"
  address = 0

  [[instrument.point]]
  name = "in9"
  table = "input"
  address = 9

  [[instrument.point]]
  name = "coil0"
  table = "coil"
  address = 0

  [[instrument.point]]
  name = "coil1"
  table = "coil"
  address = 1

  [[instrument.point]]
  name = "di3"
  table = "discrete"
  address = 3

  [[instrument.point]]
  name = "di4"
  table = "discrete"
  address = 4

[[instrument]]
name = "ghost"
port = "plc_bus"
unit = 17
period = "1s"

  [[instrument.point]]
  name = "h200"
  table = "holding"
  address = 200
TOML
}

PLC_EXPECTED=(
  "plc.h100 = 1000 (good)"
  "plc.h101 = 100.1 (good)"
  "plc.h102 = 65668075 (good)"
  "plc.h104 = 65864684 (good)"
  "plc.in0 = 2000 (good)"
  "plc.in9 = 2009 (good)"
  "plc.coil0 = true (good)"
  "plc.coil1 = false (good)"
  "plc.di3 = true (good)"
  "plc.di4 = false (good)"
)

# start_server NAME TTY [MODE...]: the libmodbus server (unit 17, 19200 8E1) on TTY.
start_server() {
  local name=$1 tty=$2
  shift 2
  start_bg "$name" "$SERVER" "$tty" 19200 E 17 "$@"
  wait_grep 5 "$TMP/$name.log" "^ready"
}

# no_service_failure LOG: the supervisor logged no failure of any service
# (a failure, a failure during shutdown, an error on stop, a start timeout).
no_service_failure() {
  local failures
  failures=$(grep -E "\] (failed: |failed during shutdown|stopped with an error|not ready within)" "$1" || true)
  [[ -z $failures ]] || fail "a service failed:"$'\n'"$failures"
}

# port_lines LOG PORT: weftd's port state lines for PORT, one per line.
# (A stop in mid-transaction must not appear here: it is not a port failure.)
port_lines() {
  grep -F "port $2 (" "$1" || true
}

# need_pyepics PYTHON: skip the test (exit 77, ctest's SKIP_RETURN_CODE)
# unless PYTHON imports Debian's pyepics (python3-pyepics, with libca).
need_pyepics() {
  "$1" -c 'import epics' 2>/dev/null && return 0
  echo "SKIPPED: pyepics is not installed (apt-get install python3-pyepics)"
  exit 77
}

# ca_port PYTHON: a loopback port free for TCP and UDP whose next port is
# free for UDP too (the CA server's port and its repeater's), printed.
ca_port() {
  "$1" - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    if p >= 65535:
        t.close(); continue
    try:
        for q in (p, p + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", q)); s.close()
    except OSError:
        t.close(); continue
    t.close(); print(p); break
PY
}

# ca_box_config PYTHON PERIOD DEVICE [-]: the config the CA scripts
# share, written to $TMP/weftd.toml: a heartbeat every PERIOD with prefix
# "box", the console on $TMP/weftd.sock, and the ca service on loopback
# (device DEVICE) on a free port PORT (set here) with its repeater port
# PORT+1. With a fourth argument "-", more lines are read from stdin (a
# heredoc: more [service.ca] keys, then further tables).
ca_box_config() {
  local more=""
  if [[ ${4:-} == - ]]; then more=$(cat); fi
  PORT=$(ca_port "$1")
  [[ -n $PORT ]] || fail "no free port"
  cat >"$TMP/weftd.toml" <<TOML
[service.heartbeat]
period = "$2"
prefix = "box"

[service.console]
socket = "$TMP/weftd.sock"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "$3"
repeater_port = $((PORT + 1))
$more
TOML
}

# asan_build BINARY: true when BINARY is built with AddressSanitizer
# (tools/dev test --sanitize), whose runtime changes what some checks see.
# (grep reads all of ldd's output: with pipefail, grep -q quitting early
# could fail the pipeline by ldd's SIGPIPE, which made an ASan weftd look
# unsanitized now and then.)
asan_build() { ldd "$1" 2>/dev/null | grep 'libasan\.so' >/dev/null; }

# memcheck_prefix BINARY: sets MEMCHECK to what a test runs BINARY under to
# catch a read of freed memory: valgrind (exit 9 on any error, its report in
# $TMP/valgrind.txt), or nothing for an ASan BINARY (ASan reports it itself,
# exit 134; valgrind cannot run it). Skips the test (77) without valgrind.
memcheck_prefix() {
  if asan_build "$1"; then
    MEMCHECK=()
    return
  fi
  command -v valgrind >/dev/null || { echo "SKIP: no valgrind"; exit 77; }
  MEMCHECK=(valgrind --error-exitcode=9 --log-file="$TMP/valgrind.txt")
}

# preload_list BINARY LIB...: an LD_PRELOAD value that loads LIBs into
# BINARY; a sanitized BINARY (tools/dev test --sanitize) gets its libasan
# first, since ASan refuses to start when another library precedes it.
preload_list() {
  local bin=$1 asan
  shift
  asan=$(ldd "$bin" 2>/dev/null | awk '/libasan\.so/ && !found {print $3; found = 1}')  # no early exit: see asan_build
  local IFS=:
  echo "${asan:+$asan:}$*"
}

#!/usr/bin/env bash
# A stderr that nobody reads costs log lines, never the exit. stderr is a
# FIFO whose 64 KiB buffer is full and that nobody reads; heartbeat (1 ms)
# with tap logging every reading queues ~5000 lines a second, more than the
# log queue holds. Then:
#   - weftd --for 2s exits 0 in bounded time (the shutdown flushes used to
#     wait for queue room for ever);
#   - the hang path (weft-health-box --test hang: log, dump, flush, _Exit)
#     exits 4 in bounded time;
#   - once the FIFO is read again, a line says how many log lines were lost.
# Usage: bash health_log_fifo.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
WEFTD=$2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
ulimit -c 0

cat >"$TMP/chatty.toml" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"
data_dir = "$TMP/data"
stall_threshold = "200ms"
hang_threshold = "1s"

[service.heartbeat]
period = "1ms"

[service.tap]
pattern = "*"
TOML

FIFO=$TMP/stderr.fifo
mkfifo "$FIFO"
# fd 7 holds the FIFO open for reading (so opening it for writing does not
# wait) and is never read; the buffer is filled before the binary starts.
exec 7<>"$FIFO"
dd if=/dev/zero of="$FIFO" bs=4096 count=1000 oflag=nonblock 2>/dev/null || true

# run_blocked NAME SECONDS EXPECTED CMD...: CMD with stderr on the full FIFO
# must exit with EXPECTED within SECONDS.
run_blocked() {
  local name=$1 secs=$2 expected=$3
  shift 3
  "$@" >"$TMP/$name.out" 2>"$FIFO" &
  PID_OF[$name]=$!
  local started=$SECONDS
  wait_exit "$name" "$secs"
  note "$name exited $EXIT_STATUS after $((SECONDS - started)) s with stderr blocked"
  [[ $EXIT_STATUS == "$expected" ]] || fail "$name exited $EXIT_STATUS, expected $expected"
}

note "normal shutdown with stderr blocked"
run_blocked weftd 25 0 "$WEFTD" --config "$TMP/chatty.toml" --for 2s

note "the hang path with stderr blocked"
run_blocked box 25 4 "$BOX" --config "$TMP/chatty.toml" --test hang=1500ms

note "stderr read again: the lost lines are reported"
"$WEFTD" --config "$TMP/chatty.toml" --for 4s >"$TMP/late.out" 2>"$FIFO" &
PID_OF[late]=$!
sleep 2  # stderr blocked for 2 s: the log thread gives up on it after 1 s
cat <&7 >"$TMP/drained.log" &
PID_OF[reader]=$!
wait_exit late 25
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS with a late reader"
wait_grep 10 "$TMP/drained.log" "\[log\] [0-9]+ log lines lost \(the log queue was full, or stderr did not take them\); [0-9]+ since start"
grep -a -m1 -oE "[0-9]+ log lines lost[^;]*; [0-9]+ since start" "$TMP/drained.log"
stop reader
exec 7<&-
echo "PASS health_log_fifo"

#!/usr/bin/env bash
# Console churn (issue 16): against a real weftd, after a warm-up round,
# 1,000 connections opened and dropped every way a client can drop one
# (churn_client.py churn), 50 half-open connections held (silent, or half
# a request line), a client sending a command a byte per second that
# completes within idle_timeout (answered) and one that does not (closed:
# a trickle does not extend the timeout). Meanwhile `weftctl --exec
# services` keeps answering (round trips printed, bounded generously).
# Afterwards weftd's fd count is back to the baseline exactly, its RSS
# within RSS_MARGIN_KB of it, every half-open one was closed by the idle
# timeout with a log line naming the peer; then SIGTERM with 50 half-open
# connections held: weftd exits 0 within 5 s and every client sees EOF.
# Usage: console_churn.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PYTHON=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"
CLIENT=$(dirname "$0")/churn_client.py
IDLE_S=5
HALF_OPEN=50
RSS_MARGIN_KB=1024  # about 1 kB per connection of the ~1,100 after the baseline
BOUND_MS=3000  # a weftctl round trip: process start, connect, reply (2 cores shared with builds)

box_config "$TMP/box.toml" "idle_timeout = \"${IDLE_S}s\""
start_weftd box "$TMP/box.toml" --log-level info
PID=${PID_OF[box]}
fds() { find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
console_json() { ctl --json --exec console; }
json_field() { "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# settle: until the fd count is the same on 3 reads 200 ms apart (the
# sessions of clients that just left are closed by the loop, not at once).
settle() {
  local last=-1 same=0 n i
  for ((i = 0; i < 100; i++)); do
    n=$(fds)
    if [[ $n == "$last" ]]; then ((++same)); else same=0; fi
    last=$n
    ((same >= 2)) && break
    sleep 0.2
  done
  echo "$last"
}

# One round of what follows first, so the baseline includes the allocator's
# high-water mark for that many clients at once (RSS rarely shrinks).
note "warm-up: $HALF_OPEN held while 1000 connections churn, then the baseline"
start_bg warm_hold "$PYTHON" "$CLIENT" hold "$SOCK" "$HALF_OPEN" 0 "$((IDLE_S + 20))"
wait_fixed 20 "$TMP/warm_hold.log" "held $HALF_OPEN"
timeout 120 "$PYTHON" "$CLIENT" churn "$SOCK" 1000 4 >"$TMP/warmup.out" 2>&1 || fail "warm-up churn: $(cat "$TMP/warmup.out")"
wait_exit warm_hold 60
[[ $EXIT_STATUS == 0 ]] || fail "warm-up hold failed: $(cat "$TMP/warm_hold.log")"
for _ in 1 2 3; do expect_status 0 ctl --exec services; done
base_fds=$(settle)
base_rss=$(rss_kb)
note "baseline: $base_fds fds, VmRSS $base_rss kB"

note "churn, $HALF_OPEN half-open, two slow clients, weftctl round trips meanwhile"
start_bg hold "$PYTHON" "$CLIENT" hold "$SOCK" "$HALF_OPEN" "$(awk -v s=$IDLE_S "BEGIN { print s - 0.1 }")" "$((IDLE_S + 20))"
wait_fixed 20 "$TMP/hold.log" "held $HALF_OPEN"
start_bg slow_ok "$PYTHON" "$CLIENT" slow "$SOCK" mem answered          # 4 bytes: 3 s < idle_timeout
start_bg slow_cut "$PYTHON" "$CLIENT" slow "$SOCK" services closed  # 9 bytes: 8 s > idle_timeout
start_bg churn "$PYTHON" "$CLIENT" churn "$SOCK" 1000 4
trips=()
while running churn || running hold || running slow_cut || ((${#trips[@]} < 5)); do
  t0=$(date +%s%N)
  expect_status 0 timeout 30 "$WEFTCTL" --socket "$SOCK" --exec services
  expect_out "console"
  trips+=($((($(date +%s%N) - t0) / 1000000)))
  ((${#trips[@]} < 400)) || fail "the misbehaving clients did not finish within 400 round trips"
  sleep 0.1
done
sorted=$(printf '%s\n' "${trips[@]}" | sort -n)
max_ms=$(tail -1 <<<"$sorted")
note "weftctl --exec services while they ran: ${#trips[@]} round trips, median $(sed -n "$(((${#trips[@]} + 1) / 2))p" <<<"$sorted") ms, max $max_ms ms"
((max_ms <= BOUND_MS)) || fail "a weftctl round trip took $max_ms ms (bound $BOUND_MS ms): the console stalled"
for name in churn hold slow_ok slow_cut; do
  wait_exit "$name" 60
  cat "$TMP/$name.log"
  [[ $EXIT_STATUS == 0 ]] || fail "$name client failed (exit $EXIT_STATUS)"
done

note "afterwards: fds back to the baseline, RSS within ${RSS_MARGIN_KB} kB"
after_fds=$base_fds
for ((i = 0; i < 75; i++)); do
  after_fds=$(settle)
  [[ $after_fds == "$base_fds" ]] && break
  sleep 0.2
done
after_rss=$(rss_kb)
note "after: $after_fds fds (baseline $base_fds), VmRSS $after_rss kB (baseline $base_rss kB, +$((after_rss - base_rss)) kB)"
[[ $after_fds == "$base_fds" ]] || { ls -l "/proc/$PID/fd"; fail "fd count $after_fds, baseline $base_fds: a connection leaked"; }
((after_rss <= base_rss + RSS_MARGIN_KB)) || fail "VmRSS grew by $((after_rss - base_rss)) kB (margin $RSS_MARGIN_KB kB)"
json=$(console_json)
clients=$(json_field clients <<<"$json")
idle_closed=$(json_field idle_closed <<<"$json")
note "console counters: $json"
[[ $clients == 1 ]] || fail "weftd counts $clients clients connected, expected 1 (this query)"
((idle_closed >= HALF_OPEN + 1)) || fail "idle_closed is $idle_closed, expected at least $((HALF_OPEN + 1))"
logged=$(grep -cE "console: closing client uid [0-9]+ pid [0-9]+: idle for $IDLE_S s" "$TMP/box.log" || true)
((logged >= HALF_OPEN + 1)) || fail "only $logged idle closures logged naming the peer, expected at least $((HALF_OPEN + 1))"
running box || fail "weftd died"

note "SIGTERM with $HALF_OPEN half-open connections held"
start_bg hold_stop "$PYTHON" "$CLIENT" hold "$SOCK" "$HALF_OPEN" 0 30
wait_fixed 20 "$TMP/hold_stop.log" "held $HALF_OPEN"
t0=$(date +%s%N)
kill -TERM "$PID"
wait_exit box 5
note "weftd exited $EXIT_STATUS $((($(date +%s%N) - t0) / 1000000)) ms after SIGTERM"
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM with half-open clients, expected 0"
wait_exit hold_stop 10
[[ $EXIT_STATUS == 0 ]] || fail "the held clients did not all see the end: $(cat "$TMP/hold_stop.log")"
[[ ! -e $SOCK ]] || fail "weftd left its socket $SOCK behind"
grep -E "\[console\].*(exception|restart)" "$TMP/box.log" && fail "the console service failed"
echo "ok"

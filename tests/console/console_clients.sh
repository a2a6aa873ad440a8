#!/usr/bin/env bash
# Many clients and a bad one: 100 clients connected at once are all served;
# a client that asks for the live log and stops reading is dropped once its
# output buffer is full (counted and logged), while the loop keeps its
# timers (heartbeat goes on publishing) and other clients are served.
# Usage: console_clients.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PYTHON=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"
CLIENTS=$(dirname "$0")/clients.py

# heartbeat every 5 ms: tap logs 200 lines/s for the tail to carry.
box_config "$TMP/box.toml" $'output_buffer = 8192\nmax_clients = 200' 5ms
start_weftd box "$TMP/box.toml" --log-level info

note "100 clients at once"
timeout 60 "$PYTHON" "$CLIENTS" many "$SOCK" 100 >"$TMP/many.out" 2>&1 || fail "100 concurrent clients: $(cat "$TMP/many.out")"
cat "$TMP/many.out"

note "a client that stops reading"
uptime_of() { ctl --json --exec "read box.uptime_s" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["value"])'; }
before=$(uptime_of)
start_bg silent "$PYTHON" "$CLIENTS" silent "$SOCK"
dropped=0
for ((i = 0; i < 600; i++)); do
  dropped=$(ctl --json --exec console | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["dropped"])')
  [[ $dropped -ge 1 ]] && break
  sleep 0.1
done
[[ $dropped -ge 1 ]] || fail "the silent client was not dropped within 60 s"
wait_grep 10 "$TMP/box.log" "console: dropping client uid [0-9]+ pid [0-9]+: its output buffer of 8192 bytes is full"
after=$(uptime_of)
"$PYTHON" -c "import sys; sys.exit(0 if float('$after') > float('$before') else 1)" ||
  fail "heartbeat stopped publishing while the client stalled (uptime $before -> $after)"
note "heartbeat uptime went $before -> $after while the silent client filled its buffer"
expect_status 0 ctl --exec services
ctl --exec loop | head -3  # loop health for the log (not asserted: no timing assertions)
echo "ok"

#!/usr/bin/env bash
# ca_gateway stopped at its worst moments, against a fake upstream
# (ca_gateway_fake_upstream.py): with a search pending (searches never
# answered), inside a TCP connect (the upstream's accept queue is full, the
# SYN is never answered), and inside a circuit read (accepted, the server's
# VERSION never comes). Every timeout of the gateway is set to a minute, so
# only the stop's cancellation can end each wait: weftd must exit 0 well
# within stop_grace, the gateway logging "stopped", no service failing.
# Usage: bash ca_gateway_stop.sh <weftd> <weftctl> <fake_upstream.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
FAKE=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

ctl() { timeout 20 "$WEFTCTL" --socket "$TMP/gw.sock" --timeout 10 --exec "$1"; }

# run_case MODE WAIT_FOR: the gateway against the fake in MODE, stopped once
# the `gateway` summary shows WAIT_FOR (an ERE).
run_case() {
  local mode=$1 want=$2 port
  port=$(ca_port "$PYTHON")
  [[ -n $port ]] || fail "no free port"
  cat >"$TMP/gw.toml" <<TOML
[weftd]
stop_grace = "2s"

[service.console]
socket = "$TMP/gw.sock"

[service.ca_gateway]
upstream = ["127.0.0.1:$port"]
beacon_port = $((port + 1))
connect_timeout = "60s"
circuit_connect_timeout = "60s"
echo_idle = "60s"
echo_timeout = "60s"

[[service.ca_gateway.record]]
name = "fake:pv"
TOML
  start_bg fake "$PYTHON" "$FAKE" "$mode" "$port"
  wait_grep 10 "$TMP/fake.log" "^listening"
  start_bg gw "$WEFTD" --config "$TMP/gw.toml" --for 60s
  wait_grep 15 "$TMP/gw.log" "all 2 services ready"
  local deadline=$((SECONDS + 15))
  until ctl gateway 2>/dev/null | grep -qE -- "$want"; do
    ((SECONDS < deadline)) || fail "$mode: the gateway never showed /$want/: $(ctl gateway)"
    sleep 0.1
  done
  sleep 0.3  # well inside the wait now
  ctl gateway | sed "s/^/# $mode: /"
  local t0=$SECONDS
  kill -TERM "${PID_OF[gw]}"
  wait_exit gw 10
  ((EXIT_STATUS == 0)) || fail "$mode: weftd exited $EXIT_STATUS after SIGTERM"
  ((SECONDS - t0 <= 2)) || fail "$mode: the stop took $((SECONDS - t0)) s"
  grep -q "\[ca_gateway\] stopped" "$TMP/gw.log" || fail "$mode: no 'stopped' line from ca_gateway"
  no_service_failure "$TMP/gw.log"
  echo "ok: $mode: stopped cleanly (exit 0)"
  stop fake
  mv "$TMP/gw.log" "$TMP/gw-$mode.log.txt"
  mv "$TMP/fake.log" "$TMP/fake-$mode.log.txt"
}

run_case silent "search_datagrams ([3-9]|[1-9][0-9]+) " # a search pending: the name searched, never answered
run_case backlog "circuit 127\.0\.0\.1:[0-9]+ tcp-connect"  # inside the TCP connect
run_case mute "circuit 127\.0\.0\.1:[0-9]+ hello"     # inside the circuit's read (no VERSION)
grep -q "accepted a circuit" "$TMP/fake-mute.log.txt" || fail "mute: the fake never accepted the circuit"
echo "PASS"

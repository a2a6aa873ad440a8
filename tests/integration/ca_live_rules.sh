#!/usr/bin/env bash
# A reload that changes only ca's access rules applies to the running ca
# service, no restart: open channels (pyepics/libca and a raw circuit) get
# their new ACCESS_RIGHTS at once and stay connected, later requests are
# judged by the new rules (ECA_NOWTACCESS with a put-log row, ECA_NORDACCESS
# and a silent monitor without read access, the value again when it
# returns), a soft point's writable turned off likewise; ca is never restarted; the history says it applied live. Then
# stops at the worst moments: SIGTERM right behind the SIGHUP of a rules
# change (the reload still preparing or applying) and right after one
# applied: weftd exits 0, promptly.
# Usage: bash ca_live_rules.sh <weftd> <weftctl> <client.py> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI is not installed: skipped"; exit 77; }
PORT=$(ca_port "$PYTHON")
[[ -n $PORT ]] || fail "no free port"
mkdir -p "$TMP/data"
cat >"$TMP/template.toml" <<TOML
[weftd]
data_dir = "$TMP/data"
stop_grace = "2s"
reload_settle = "200ms"

[store]
path = "$TMP/box.db"
batch_age = "100ms"

[service.console]
socket = "$TMP/weftd.sock"

[service.ca]
port = $PORT
interfaces = ["127.0.0.1"]
device = "live"
repeater_port = $((PORT + 1))

[[service.ca.access]]
pv = "live:*"
user = "raw"
grant = "@RAW@"

[[service.ca.access]]
pv = "live:*"
grant = "@GRANT@"

[[soft_point]]
name = "sp.target"
initial = 1.0
writable = true
TOML
render() { sed "s/@GRANT@/$1/; s/@RAW@/$2/" "$TMP/template.toml" >"$TMP/weftd.toml"; }
render write write

note "phase 1: rules changed three times under open channels"
start_bg weftd "$WEFTD" --config "$TMP/weftd.toml" --for 120s
wait_grep 15 "$TMP/weftd.log" "all [0-9]+ services ready"
timeout 90 "$PYTHON" "$CLIENT" "$PORT" "$TMP/template.toml" "$TMP/weftd.toml" "$WEFTCTL" "$TMP/weftd.sock" \
  >"$TMP/client.out" 2>&1 || fail "client failed: $(cat "$TMP/client.out")"
cat "$TMP/client.out"
running weftd || fail "weftd died"
[[ $(grep -c "ca: serving the bus's points" "$TMP/weftd.log") == 1 ]] || fail "ca was started more than once"
grep -q "\[ca\] reload: restarting" "$TMP/weftd.log" && fail "a reload restarted ca"
[[ $(grep -c "reload: applied live, no restart: service.ca.access" "$TMP/weftd.log") == 3 ]] ||
  fail "not 3 live rule changes logged"
grep -q "reload: applied live, no restart: soft_point\\[sp.target\\].writable$" "$TMP/weftd.log" ||
  fail "the soft point's writable was not logged as applied live"
grep -E "ca: access rights changed for [0-9]+ open channel\(s\) \(a reload changed the access rules" "$TMP/weftd.log" ||
  fail "no log line for the pushed rights"
services=$("$WEFTCTL" --socket "$TMP/weftd.sock" --exec services)
echo "$services"
grep -qE "^ca +running +yes +0 " <<<"$services" || fail "ca is not running with 0 restarts"
history=$("$WEFTCTL" --socket "$TMP/weftd.sock" --exec 'config history')
echo "$history"
[[ $(grep -cE "live ca +applied live, no restart" <<<"$history") == 4 ]] || fail "the history does not say ca applied live"
grep -q "applied live: service.ca.access\[" <<<"$history" || fail "the history does not list the live keys"
# The put log: the refused writes of raw (by the new rules), the pyepics writes ok.
sleep 1
rows() { sqlite3 -cmd ".timeout 5000" "$TMP/box.db" "$1"; }
refused=$(rows "SELECT count(*) FROM put_log WHERE who = 'raw@test' AND pv = 'live:sp:target' AND result = 'refused (no write access)'")
[[ $refused == 3 ]] || fail "put_log has $refused refused rows for raw, expected 3"
ok=$(rows "SELECT count(*) FROM put_log WHERE pv = 'live:sp:target' AND result = 'ok'")
[[ $ok == 3 ]] || fail "put_log has $ok ok rows, expected 3"
grep -q "rolled back" <<<"$history" || fail "the history does not have the rolled-back reload"
stop weftd
# The console's failure to start was the rollback's cue (phase 0); nothing else failed.
failures=$(grep -E "\] (failed: |failed during shutdown|stopped with an error|not ready within)" "$TMP/weftd.log" |
  grep -v "\[console\]" || true)
[[ -z $failures ]] || fail "a service failed: $failures"

note "phase 2: SIGTERM at the worst moments of a live rules change"
for delay in 0 0.01 0.05 after; do
  render write write
  start_bg "w$delay" "$WEFTD" --config "$TMP/weftd.toml" --for 60s
  wait_grep 15 "$TMP/w$delay.log" "all [0-9]+ services ready"
  # An open channel, so the change has ACCESS_RIGHTS to push.
  start_bg "c$delay" timeout 30 "$PYTHON" -c "
import os, sys, time
sys.path.insert(0, '$(dirname "$CLIENT")')
from ca_raw import Circuit, create_chan
c = Circuit($PORT, user='raw', host='test')
c.send(create_chan(1, 'live:sp:target'))
c.read(2, 5)
print('open', flush=True)
c.closed_within(25)
print('closed', flush=True)
"
  wait_fixed 10 "$TMP/c$delay.log" "open"
  render read none
  if [[ $delay == after ]]; then
    "$WEFTCTL" --socket "$TMP/weftd.sock" --timeout 30 --exec reload >/dev/null || fail "reload failed"
  else
    kill -HUP "${PID_OF[w$delay]}"
    sleep "$delay"
  fi
  start=$(date +%s%N)
  kill -TERM "${PID_OF[w$delay]}"
  wait_exit "w$delay" 10
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  if grep -q "reload: applied live, no restart" "$TMP/w$delay.log"; then what="applied live"; else what="not applied"; fi
  note "SIGTERM ${delay/after/right after the applied} (s) reload: it was $what; weftd exited $EXIT_STATUS in ${elapsed_ms} ms"
  [[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS"
  ((elapsed_ms < 5000)) || fail "weftd took $elapsed_ms ms to stop"
  grep -qiE "segfault|terminate called|fatal signal|AddressSanitizer" "$TMP/w$delay.log" && fail "weftd crashed"
  wait_exit "c$delay" 10
  grep -q "^closed" "$TMP/c$delay.log" || fail "the raw circuit was not closed by the stop"
done
echo "PASS ca_live_rules"

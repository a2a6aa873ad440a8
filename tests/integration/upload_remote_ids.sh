#!/usr/bin/env bash
# Reload ids are never given twice, across a crash: a remote config that
# supersedes a queued one gets the next id at enqueue (the superseded one
# keeps its own), so the config history's next id is behind it when it
# starts. Its reservation must still cover its id: kill -9 weftd while it
# runs, start weftd again, and the next reload must get a NEW id.
#  1. remote A runs (id 1: heartbeat restarts, then reload_settle);
#  2. remote B queued (id 2), remote C supersedes it (id 3);
#  3. C starts (heartbeat restarts again): kill -9;
#  4. weftd again, SIGHUP: its reload id is past 3.
# Bounded: about 30 s. Usage: bash upload_remote_ids.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
KEYS='accept_config = true
remote_settle = "2s"'
mkdir -p "$TMP/data"
config() {  # config FILE PERIOD
  weftd_upload_config "$1" "$PORT" "$2" "$KEYS"
  sed -i "s|^\\[weftd\\]\$|[weftd]\\ndata_dir = \"$TMP/data\"|" "$1"
}
CONF=$TMP/weftd.toml
config "$CONF" 50ms
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"
publish() { /usr/bin/mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t weft/testbox/config/set -f "$1"; }

note "1. remote A runs"
config "$TMP/a.toml" 30ms
publish "$TMP/a.toml"
wait_grep 10 "$LOG" "\\[heartbeat\\] reload: restarting"
note "2. remote B queued, remote C supersedes it"
config "$TMP/b.toml" 40ms
publish "$TMP/b.toml"
timeout 5 bash -c 'until (( $(grep -c "bytes from weft/testbox/config/set" "$1") >= 2 )); do sleep 0.02; done' _ "$LOG" ||
  fail "remote B was not received"
config "$TMP/c.toml" 60ms
publish "$TMP/c.toml"
wait_fixed 5 "$LOG" "replaces the remote config queued before it"
wait_grep 15 "$LOG" "reload 1 \\(remote, .*\\): applied"
note "3. C (id 3) starts: kill -9"
timeout 10 bash -c 'until (( $(grep -c "\[heartbeat\] reload: restarting" "$1") >= 2 )); do sleep 0.02; done' _ "$LOG" ||
  fail "remote C did not start"
kill -KILL "${PID_OF[weftd]}"
wait_exit weftd 5
cat "$TMP/data/reload-history.toml" >&2 || true

note "4. weftd again; a SIGHUP reload must not reuse id 3"
mv "$LOG" "$TMP/weftd.first.log"
start_bg weftd "$WEFTD" --config "$CONF" --for 30s
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"
config "$CONF" 70ms
kill -HUP "${PID_OF[weftd]}"
wait_grep 15 "$LOG" "reload [0-9]+ \\(signal, .*\\): applied"
id=$(grep -oE "reload [0-9]+ \\(signal" "$LOG" | head -1 | grep -oE "[0-9]+")
echo "the reload after the restart got id $id"
((id > 3)) || fail "reload id $id given again after a crash (3 was C's, cut short by kill -9)"
kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
echo "PASS upload_remote_ids"

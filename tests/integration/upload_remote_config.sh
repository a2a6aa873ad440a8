#!/usr/bin/env bash
# Remote config through a real mosquitto broker (issue 12, "Remote"):
# weftd (heartbeat + record + upload with accept_config = true) gets TOML
# documents on weft/testbox/config/set and answers on .../config/result.
#  1. a good config applies (heartbeat restarts), the file's bytes then
#     equal the payload, the result says applied with the payload's hash;
#  2. the same payload again is "unchanged";
#  3. a bad one is refused with every error at file:line:col (the topic
#     names the source), the file unchanged;
#  4. a payload over max_config_bytes is refused, saying so;
#  5. a SIGHUP and a remote config at once both apply, in arrival order;
#  6. a config pointing upload at a dead port is rolled back after
#     remote_settle (2 s): the rolled_back result arrives once the old
#     upload is connected again, the file is unchanged, readings flow again.
# Bounded: about 40 s (each applied change waits reload_settle, 5 s).
# Usage: bash upload_remote_config.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
start_result_sub

REMOTE_KEYS='accept_config = true
remote_settle = "2s"
max_config_bytes = 4096'
CONF=$TMP/weftd.toml
weftd_upload_config "$CONF" "$PORT" "50ms" "$REMOTE_KEYS"
cp "$CONF" "$TMP/original.toml"
start_bg weftd "$WEFTD" --config "$CONF" --for 120s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"

publish() {  # publish FILE [EXTRA mosquitto_pub ARGS]
  local file=$1
  shift
  /usr/bin/mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t weft/testbox/config/set -f "$file" "$@"
}
# result N: the Nth result line (1-based), waited for up to $2 s.
result() {
  timeout "$2" bash -c 'until (( $(wc -l <"$1") >= $2 )); do sleep 0.05; done' _ "$RESULTS" "$1" ||
    fail "no result number $1 on config/result within $2 s"
  sed -n "$1p" "$RESULTS"
}
field() {  # field JSON KEY
  $PY -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
hash_of() { $PY -c '
import sys
h = 14695981039346656037
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
print("%016x" % h)' "$1"; }

note "1. a good config: heartbeat every 30 ms instead of 50 ms (the file was edited by hand meanwhile)"
weftd_upload_config "$TMP/good.toml" "$PORT" "30ms" "$REMOTE_KEYS"
echo "# sent remotely" >>"$TMP/good.toml"
echo "# edited by hand, not reloaded" >>"$CONF"
cp "$CONF" "$TMP/hand.toml"
publish "$TMP/good.toml"
r=$(result 1 15)
echo "result 1: $r"
[[ $(field "$r" result) == applied ]] || fail "the good config did not apply: $r"
[[ $(field "$r" config_hash) == "$(hash_of "$TMP/good.toml")" ]] || fail "config_hash is not the payload's: $r"
[[ $(field "$r" request_hash) == "$(hash_of "$TMP/good.toml")" ]] || fail "request_hash is not the payload's: $r"
[[ $(field "$r" services) == *'"service": "heartbeat", "action": "restart"'* ]] || fail "heartbeat did not restart: $r"
wait_fixed 5 "$LOG" "remote config: written to $CONF"
cmp "$CONF" "$TMP/good.toml" || fail "the config file's bytes are not the payload's"
cmp "$CONF.local" "$TMP/hand.toml" || fail "the hand-edited file was not kept as $CONF.local"

note "2. the same payload again: unchanged"
publish "$TMP/good.toml"
r=$(result 2 10)
[[ $(field "$r" result) == unchanged ]] || fail "a repeated payload was not 'unchanged': $r"

note "3. a bad config: refused with file:line:col, the file unchanged"
weftd_upload_config "$TMP/bad.toml" "$PORT" "30ms" "$REMOTE_KEYS
batch_rowz = 3"
sed -i 's/^period = "30ms"/period = "soon"/' "$TMP/bad.toml"
publish "$TMP/bad.toml"
r=$(result 3 10)
echo "result 3: $r"
[[ $(field "$r" result) == refused ]] || fail "the bad config was not refused: $r"
[[ $(field "$r" errors) == *'weft/testbox/config/set:'[0-9]*':'[0-9]*': '* ]] || fail "no file:line:col in: $r"
cmp "$CONF" "$TMP/good.toml" || fail "a refused remote config changed the file"

note "4. an oversized payload: refused, saying so"
{
  cat "$TMP/good.toml"
  for ((i = 0; i < 100; i++)); do echo "# padding padding padding padding padding padding"; done
} >"$TMP/big.toml"
publish "$TMP/big.toml"
r=$(result 4 10)
[[ $(field "$r" result) == refused ]] || fail "the oversized config was not refused: $r"
[[ $(field "$r" errors) == *"larger than max_config_bytes = 4096"* ]] || fail "the refusal does not say why: $r"
cmp "$CONF" "$TMP/good.toml" || fail "an oversized remote config changed the file"

note "5. SIGHUP and a remote config at once: both run, in arrival order, neither lost"
weftd_upload_config "$CONF" "$PORT" "40ms" "$REMOTE_KEYS"
kill -HUP "${PID_OF[weftd]}"
wait_grep 5 "$LOG" "\\[heartbeat\\] reload: restarting"
weftd_upload_config "$TMP/good2.toml" "$PORT" "60ms" "$REMOTE_KEYS"
publish "$TMP/good2.toml"
r=$(result 5 25)
[[ $(field "$r" result) == applied ]] || fail "the remote config queued behind SIGHUP did not apply: $r"
signal_line=$(grep -nE "reload [0-9]+ \(signal, .*\): applied" "$LOG" | cut -d: -f1 | tail -1)
remote_line=$(grep -nE "reload [0-9]+ \(remote, .*\): applied" "$LOG" | cut -d: -f1 | tail -1)
[[ -n $signal_line && $signal_line -lt $remote_line ]] || fail "the SIGHUP reload did not apply before the remote one"
wait_fixed 5 "$LOG" "remote config: written to $CONF" "$signal_line"
cmp "$CONF" "$TMP/good2.toml" || fail "the file is not the last remote config"
cp "$TMP/good2.toml" "$TMP/good.toml"  # what runs now

note "6. upload pointed at a dead port: rolled back after remote_settle, reachable again"
DEAD=$(free_port)
weftd_upload_config "$TMP/dead.toml" "$DEAD" "30ms" "$REMOTE_KEYS"
rows_before=$(grep -c '"seq"' "$COLLECTED" || true)
sent_at=$SECONDS
publish "$TMP/dead.toml"
r=$(result 6 20)
took=$((SECONDS - sent_at))
echo "result 6 (after ${took} s): $r"
[[ $(field "$r" result) == rolled_back ]] || fail "the unreachable config was not rolled back: $r"
[[ $(field "$r" errors) == *"remote_settle (2000 ms)"* ]] || fail "the rollback does not name remote_settle: $r"
[[ $(field "$r" config_hash) == "$(hash_of "$TMP/good.toml")" ]] || fail "after the rollback the hash is not the old one: $r"
((took >= 2)) || fail "rolled back after $took s, before remote_settle"
cmp "$CONF" "$TMP/good.toml" || fail "a rolled-back remote config changed the file"
! grep -qF "\"result\":\"applied\",\"trigger\":\"remote\",\"config_hash\":\"$(hash_of "$TMP/dead.toml")\"" "$RESULTS" ||
  fail "a provisional 'applied' for the dead config went out"
# Readings flow to the broker again.
timeout 10 bash -c 'until (( $(grep -c "\"seq\"" "$1") > $2 + 5 )); do sleep 0.1; done' _ "$COLLECTED" "$rows_before" ||
  fail "no readings uploaded after the rollback"

kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
echo "PASS upload_remote_config"

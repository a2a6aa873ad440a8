#!/usr/bin/env bash
# A remote config must never leave the box out of remote reach: one that
# keeps upload running but turns accept_config off (so config/set is no
# longer subscribed to, and no later remote config could undo it) is
# refused like one that disables upload; the file and the running config
# are unchanged, and a following good remote config still applies.
# Bounded: about 20 s. Usage: bash upload_remote_reach.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

start_broker_and_collector
start_result_sub

KEYS='accept_config = true
remote_settle = "2s"'
CONF=$TMP/weftd.toml
weftd_upload_config "$CONF" "$PORT" "50ms" "$KEYS"
cp "$CONF" "$TMP/original.toml"
start_bg weftd "$WEFTD" --config "$CONF" --for 60s
LOG=$TMP/weftd.log
wait_fixed 10 "$LOG" "accepting remote config on 'weft/testbox/config/set'"

publish() { /usr/bin/mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t weft/testbox/config/set -f "$1"; }
result() {
  timeout "$2" bash -c 'until (( $(wc -l <"$1") >= $2 )); do sleep 0.05; done' _ "$RESULTS" "$1" ||
    fail "no result number $1 on config/result within $2 s"
  sed -n "$1p" "$RESULTS"
}
field() {
  $PY -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

note "1. accept_config = false sent remotely: refused, nothing changed"
weftd_upload_config "$TMP/off.toml" "$PORT" "50ms" 'accept_config = false
remote_settle = "2s"'
publish "$TMP/off.toml"
r=$(result 1 20)
echo "result 1: $r"
[[ $(field "$r" result) == refused ]] || fail "a remote config turning accept_config off was not refused: $r"
[[ $(field "$r" errors) == *"accept_config"* ]] || fail "the refusal does not name accept_config: $r"
cmp "$CONF" "$TMP/original.toml" || fail "a refused remote config changed the file"

note "2. a good remote config still applies (config/set is still subscribed to)"
weftd_upload_config "$TMP/good.toml" "$PORT" "30ms" "$KEYS"
publish "$TMP/good.toml"
r=$(result 2 20)
[[ $(field "$r" result) == applied ]] || fail "the next remote config did not apply: $r"

kill -TERM "${PID_OF[weftd]}"
wait_exit weftd 10
[[ $EXIT_STATUS == 0 ]] || fail "weftd exited $EXIT_STATUS on SIGTERM"
echo "PASS upload_remote_reach"

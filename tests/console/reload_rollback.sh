#!/usr/bin/env bash
# A reload whose change cannot become ready, against a real weftd under a
# fake notify socket: [store] path moves under a regular file, so record's
# new store cannot open. `weftctl reload` exits 1 naming record and its
# error and saying it rolled back; record runs its previous config again
# (every service running and ready, the old database still growing with
# contiguous seqs), `services` and STATUS= say the file differs, and
# `config history` has the rollback.
# Usage: reload_rollback.sh WEFTD WEFTCTL PYTHON DEVSIM
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3} DEVSIM=$4
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_common.bash"

NOTIFY=$TMP/notify.out
start_bg notify "$PY" "$(dirname "$0")/../health/notify_listener.py" "$TMP/notify.sock" "$NOTIFY" 100
wait_fixed 5 "$NOTIFY" LISTENING

CONF=$TMP/box.toml
reload_box_config "$CONF" 100ms
devsim_config "$TMP/sim.toml" "$TMP/dev"
start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"
export NOTIFY_SOCKET=$TMP/notify.sock
start_weftd box "$CONF"
unset NOTIFY_SOCKET
wait_grep 15 "$TMP/box.log" "store: committed through seq [1-9]"
restarts_before=$(restarts_json)

note "[store] path under a regular file; weftctl reload"
echo "not a directory" >"$TMP/plain"
sed -i "s|^path = \"$DB\"$|path = \"$TMP/plain/readings.db\"|" "$CONF"
grep -qF "path = \"$TMP/plain/readings.db\"" "$CONF" || fail "the store path was not changed in $CONF"
notified=$(lines "$NOTIFY")
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "rolled back"
expect_out "record"
expect_out "$TMP/plain/readings.db"

note "the previous config runs again"
st=$(states)
note "$st"
[[ $st != *=stopped* && $st != *=failed* && $st != */False* ]] || fail "a service is not running and ready after the rollback: $st"
for s in heartbeat tap console gather; do
  [[ $(ctl --exec "service $s" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p') == 1 ]] || fail "$s was touched by a [store] change"
done
[[ $(restarts_json) == "$restarts_before" ]] || fail "restart counts moved: $restarts_before -> $(restarts_json)"
read -r _ _ hi0 <<<"$(seq_check)"
for ((i = 0; i < 200; i++)); do
  read -r _ _ hi <<<"$(seq_check)"
  ((hi > hi0 + 20)) && break
  sleep 0.05
done
((hi > hi0 + 20)) || fail "the old store did not grow after the rollback (seq $hi0 -> $hi)"
note "store after the rollback: $(seq_check) (count min max), contiguous"
expect_status 0 ctl --exec store
[[ $OUT =~ gaps:\ +0\ ranges ]] || fail "the store reports gaps: $OUT"
[[ $OUT == *"$DB"* ]] || fail "store does not show the old database $DB: $OUT"

note "services and STATUS= say the file differs"
expect_status 0 ctl --exec services
expect_out "last reload rolled back"
expect_out "the config file differs from the running config"
wait_grep 10 "$NOTIFY" "^STATUS=.*rolled back.*differs" "$notified"
expect_status 0 ctl --exec "config history"
note "$OUT"
expect_out "rolled back"
expect_out "rollback record"
stop box
stop notify
echo "ok"

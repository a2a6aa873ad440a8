#!/usr/bin/env bash
# A live [store] path change to another file warns that what upload had not
# delivered stays in the old file; the warning is in the reload's reply,
# in the log and kept in `config history` (text and --json), so it is still
# there to read after the reply scrolled away or weftd restarted.
# Usage: reload_store_move.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_store_common.bash"

DEAD_PORT=$(dead_port)
CONF=$TMP/box.toml
store_box_config "$CONF"
start_weftd box "$CONF"
wait_committed_past 15 500

note "[store] path -> another file; weftctl reload"
sed -i "s|^path = \"$DB\"|path = \"$TMP/data/moved.db\"|" "$CONF"
grep -qF "moved.db" "$CONF" || fail "the config has no store path to change"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "applied"
want="[store] path changes (\"$DB\" -> \"$TMP/data/moved.db\"): "
grep -qF "$want" "$TMP/box.log" || fail "no warning in the log"
expect_status 0 ctl --exec "config history"
note "$OUT"
grep -qF "    warning: $want" <<<"$OUT" || fail "the warning is not in config history: $OUT"
grep -qE "readings not yet delivered by upload stay in" <<<"$OUT" || fail "the kept warning has no count: $OUT"
expect_status 0 ctl --exec "--json config history"
grep -qF '"warnings":["[store] path changes' <<<"$OUT" || fail "no warnings in config history --json: $OUT"

note "after a restart, the history still has it"
stop box
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
expect_status 0 ctl --exec "config history"
grep -qF "    warning: $want" <<<"$OUT" || fail "the warning did not survive the restart: $OUT"
stop box
echo "ok"

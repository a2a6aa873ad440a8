#!/usr/bin/env bash
# A live [store] path change to another file closes the previous Store
# (weftd no longer has the old file open; moving back to it applies) and
# warns that what upload had not delivered stays in the old file; the
# warning is in the reload's reply,
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

note "the previous store is closed: weftd no longer has $DB open"
wait_fixed 10 "$TMP/box.log" "closed the previous store $DB"
open_files() { for fd in /proc/"${PID_OF[box]}"/fd/*; do readlink "$fd" 2>/dev/null; done; }
files=$(open_files)
grep -qxF "$TMP/data/moved.db" <<<"$files" || fail "weftd does not have the new store open (the fd scan sees: $files)"
grep -qxF "$DB" <<<"$files" && fail "weftd still has $DB open after the path change: $files"
note "and its path is free: moving back to it applies"
sed -i "s|^path = \"$TMP/data/moved.db\"|path = \"$DB\"|" "$CONF"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "applied"
grep -F "another Store in this process still" "$TMP/box.log" && fail "the new Store waited for the old one"
wait_fixed 10 "$TMP/box.log" "closed the previous store $TMP/data/moved.db"

note "after a restart, the history still has it"
stop box
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF"
expect_status 0 ctl --exec "config history"
grep -qF "    warning: $want" <<<"$OUT" || fail "the warning did not survive the restart: $OUT"
stop box
echo "ok"

#!/usr/bin/env bash
# `config history` through weftctl against a real weftd with a data dir: no
# history yet, then a history file in its documented format (two reloads:
# one applied, one rolled back) shown as text for people and as --json, a
# damaged file reported and left where it is (the command changes nothing),
# and a box without a data dir, which keeps no history and says so.
# Usage: console_history.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"

DATA=$TMP/data
CONF=$TMP/box.toml
box_config "$TMP/services.toml"
{ printf '[weftd]\ndata_dir = "%s"\n\n' "$DATA"; cat "$TMP/services.toml"; } >"$CONF"
start_weftd box "$CONF"
HISTORY=$DATA/reload-history.toml

note "no reload yet"
expect_status 0 ctl --exec "config history"
expect_out "config history: no reload recorded in $HISTORY"
expect_status 0 ctl --json --exec "config history"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["reloads"] == [] and d["keep"] == 20 and d["next_id"] == 1 and d["warning"] == "", d' "$OUT" ||
  fail "config history --json with no history: $OUT"

# sign FILE: puts the checksum line weftd writes (FNV-1a 64 of every byte after it) on top.
sign() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
path = sys.argv[1]
body = open(path, "rb").read()
h = 0xcbf29ce484222325
for b in body:
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
open(path, "wb").write(b'# written by hand, as weftd would\nchecksum = "%016x"\n' % h + body)
PY
}

note "two reloads in the file"
cat >"$HISTORY" <<'TOML'
version = 1
next_id = 8

[[reload]]
id = 6
started_unix_ms = 1767225600000
took_us = 1250000
trigger = "console"
result = "applied"
file = "/etc/weft/weftd.toml"
config_hash = "0123456789abcdef"
errors = []
live = ["weftd.log_level"]
  [[reload.service]]
  service = "heartbeat"
  action = "restart"
  ok = true
  error = ""

[[reload]]
id = 7
started_unix_ms = 1767229200000
took_us = 10500000
trigger = "watch"
result = "rolled back"
file = "/etc/weft/weftd.toml"
config_hash = "0123456789abcdef"
errors = ["tap: not ready within 10000 ms"]
live = []
  [[reload.service]]
  service = "tap"
  action = "restart"
  ok = false
  error = "not ready within 10000 ms"
  [[reload.service]]
  service = "tap"
  action = "rollback"
  ok = true
  error = ""
TOML
sign "$HISTORY"
expect_status 0 ctl --exec "config history"
expect_out "config history: 2 reloads kept in $HISTORY (the last 20), oldest first:"
expect_out "#6  2026-01-01T00:00:00.000Z  console  applied in 1.2 s  /etc/weft/weftd.toml  (config 0123456789abcdef)"
expect_out "    restart heartbeat  ok"
expect_out "    applied live: weftd.log_level"
expect_out "#7  2026-01-01T01:00:00.000Z  watch  rolled back in 10.5 s"
expect_out "    restart tap   FAILED: not ready within 10000 ms"
expect_out "    rollback tap  ok"
expect_out "    error: tap: not ready within 10000 ms"
[[ $OUT == *"#6 "*"#7 "* ]] || fail "oldest first: $OUT"
expect_status 0 ctl --json --exec "config history"
/usr/bin/python3 - "$OUT" <<'PY' || fail "config history --json: $OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["next_id"] == 8 and d["warning"] == "", d
a, b = d["reloads"]
assert (a["id"], a["trigger"], a["result"], a["ok"]) == (6, "console", "applied", True), a
assert a["started"] == "2026-01-01T00:00:00.000Z" and a["took_us"] == 1250000 and a["live"] == ["weftd.log_level"], a
assert (b["id"], b["trigger"], b["result"], b["ok"]) == (7, "watch", "rolled back", False), b
assert b["services"] == [{"service": "tap", "action": "restart", "ok": False, "error": "not ready within 10000 ms"},
                         {"service": "tap", "action": "rollback", "ok": True, "error": ""}], b
assert b["errors"] == ["tap: not ready within 10000 ms"], b
PY

note "a damaged file: reported, left where it is"
head -c 400 "$HISTORY" >"$TMP/torn" && mv "$TMP/torn" "$HISTORY"
cp "$HISTORY" "$TMP/torn.copy"
expect_status 0 ctl --exec "config history"
expect_out "warning: the reload history $HISTORY is damaged ("
expect_out "checksum mismatch"
expect_out "weftd moves it aside at the next reload and starts a new history"
expect_out "config history: no reload recorded in $HISTORY"
cmp -s "$HISTORY" "$TMP/torn.copy" || fail "config history changed the damaged file"
[[ ! -e $HISTORY.damaged ]] || fail "config history moved the damaged file aside"
expect_status 0 ctl --json --exec "config history"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert "is damaged" in d["warning"] and d["reloads"] == [] and d["next_id"] == 8, d' "$OUT" ||
  fail "config history --json, damaged: $OUT"

note "bad usage"
expect_status 1 ctl --exec "config history now"
expect_out "usage: config history"
stop box

note "no data dir: no history, and it says so"
box_config "$CONF"
start_weftd plain "$CONF"
expect_status 1 ctl --exec "config history"
expect_out "no data dir is configured ([weftd] data_dir), so weftd keeps no reload history"
stop plain
echo "ok"

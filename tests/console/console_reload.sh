#!/usr/bin/env bash
# `reload --dry-run` and `config diff` through weftctl against a real weftd
# whose config file is edited on disk: the plan (which service restarts, why,
# the keys old -> new), text and --json, a refusal naming a start-only key, an
# invalid file reported with file:line:col, and a plain `reload` of a missing
# file refused. Nothing is applied: the services' restart counts stay 0.
# Usage: console_reload.sh WEFTD WEFTCTL
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"

CONF=$TMP/box.toml
box_config "$CONF"
start_weftd box "$CONF"

note "the file as it runs: an empty plan, no difference"
expect_status 0 ctl --exec "reload --dry-run"
expect_out "reload --dry-run: $CONF is valid and has the running config's effect; a reload would change nothing"
expect_status 0 ctl --exec "config diff"
expect_out "config diff: $CONF on disk has the running config's effect"

note "the same effect written differently is still no difference"
box_config "$CONF" "idle_timeout = \"600s\"" "0.1s"  # 10m is the default; 0.1s is 100ms
expect_status 0 ctl --exec "reload --dry-run"
expect_out "a reload would change nothing"

note "heartbeat's period changed: heartbeat restarts, then tap, which needs it; console is untouched"
box_config "$CONF" "" "250ms"
expect_status 0 ctl --exec "reload --dry-run"
expect_out "a reload would (nothing is applied now):"
expect_out "restart heartbeat  its config changed"
expect_out "service.heartbeat.period: \"100ms\" -> \"250ms\""
expect_out "restart tap        needs heartbeat, which restarts"
expect_out "untouched: console"
[[ $OUT == *"restart heartbeat"*"restart tap"* ]] || fail "heartbeat must restart before tap: $OUT"
expect_status 0 ctl --json --exec "reload --dry-run"
/usr/bin/python3 - "$OUT" <<'PY' || fail "reload --dry-run --json is not the expected plan: $OUT"
import json, sys
d = json.loads(sys.argv[1])
assert d["valid"] and not d["refused"] and d["applied"] is False, d
assert [(s["action"], s["service"]) for s in d["services"]] == [("restart", "heartbeat"), ("restart", "tap")], d
assert d["services"][0]["changes"] == [{"key": "service.heartbeat.period", "before": '"100ms"', "after": '"250ms"'}], d
assert d["services"][1]["reason"] == "needs heartbeat, which restarts", d
assert d["untouched"] == ["console"] and d["live"] == [] and d["refusals"] == [], d
PY
expect_status 0 ctl --exec "config diff"
expect_out "service.heartbeat.period: \"100ms\" -> \"250ms\""
expect_out "1 key differs"
expect_status 0 ctl --json --exec "config diff"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["changes"] == [{"key": "service.heartbeat.period", "before": "\"100ms\"", "after": "\"250ms\""}], d' "$OUT" ||
  fail "config diff --json: $OUT"

note "a start-only key refuses the reload, naming it and what to do"
{ printf '[weftd]\nlog_level = "debug"\nblocking_threads = 3\n\n'; cat "$CONF"; } >"$TMP/next.toml"
mv "$TMP/next.toml" "$CONF"  # as an editor does: a new file renamed over the old
expect_status 1 ctl --exec "reload --dry-run"
expect_out "is valid, but a reload would be refused; nothing would change:"
expect_out "[weftd] blocking_threads changed (2 -> 3) at $CONF:3:20: it can only change at start (the blocking pool is sized once, at start); run \`systemctl restart weftd\` to apply it"
expect_out "apply   weftd.log_level: \"info\" -> \"debug\" (without a restart)"
expect_status 0 ctl --exec "config diff"
expect_out "weftd.blocking_threads: 2 -> 3"
expect_out "3 keys differ"

note "an invalid file: its error with file:line:col, nothing would change"
box_config "$CONF" "" "100ms"
sed -i 's/^period = /perod = /' "$CONF"
expect_status 1 ctl --exec "reload --dry-run"
expect_out "reload --dry-run: $CONF is not valid; nothing would change:"
expect_out "$CONF:2:1: unknown key 'perod' in [service.heartbeat]"
expect_status 1 ctl --exec "config diff"
expect_out "unknown key 'perod'"
expect_status 1 ctl --json --exec "reload --dry-run"
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["valid"] is False and "perod" in d["error"], d' "$OUT" ||
  fail "reload --dry-run --json for an invalid file: $OUT"
rm "$CONF"
expect_status 1 ctl --exec "reload --dry-run"
expect_out "$CONF: cannot read config file"

note "a plain reload of the missing file is refused, and nothing changes"
expect_status 1 ctl --exec reload
expect_out ": refused; nothing changed:"
expect_out "$CONF: cannot read config file"
expect_status 1 ctl --exec "reload --now"
expect_out "usage: reload [--dry-run|--no-wait]"

note "nothing was applied: no service restarted"
expect_status 0 ctl --json --exec services
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert all(s["restarts"] == 0 for s in d), d' "$OUT" ||
  fail "a service restarted: $OUT"
stop box
echo "ok"

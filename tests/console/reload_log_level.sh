#!/usr/bin/env bash
# Per-service log_level on a real weftd, at start and by `weftctl reload`:
#   at start: [service.heartbeat] log_level = "debug" logs heartbeat's
#   debug lines (one per tick), the other services stay at info;
#   removed by a reload: they stop, with NO restart (heartbeat's run count
#   and every restart count unchanged), the change applied live;
#   set on the console itself by a reload through that console: its debug
#   lines appear (a client connected), the console not restarted;
#   [weftd] log_level = "warn" by a reload: the default changes, the
#   services with their own level keep it;
#   log_level with another key of the service: it restarts, at the level;
#   `weftd --log-level info` overrides the services' own levels.
# Usage: reload_log_level.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
source "$(dirname "$0")/common.bash"

CONF=$TMP/box.toml
mkdir -p "$TMP/data"
# level_conf DEFAULT HEARTBEAT_LEVEL CONSOLE_LEVEL [PERIOD]: "" leaves a level out.
level_conf() {
  {
    printf '[weftd]\ndata_dir = "%s"\nlog_level = "%s"\nreload_settle = "200ms"\nstop_grace = "2s"\n\n' "$TMP/data" "$1"
    printf '[service.heartbeat]\nperiod = "%s"\nprefix = "box"\n' "${4:-100ms}"
    [[ -z $2 ]] || printf 'log_level = "%s"\n' "$2"
    printf '\n[service.tap]\npattern = "box.uptime_s"\nneeds = ["heartbeat"]\n\n[service.console]\nsocket = "%s"\n' "$SOCK"
    [[ -z $3 ]] || printf 'log_level = "%s"\n' "$3"
  } >"$CONF"
}
ticks_since() { tail -n +"$(($1 + 1))" "$TMP/box.log" | grep -c "\[heartbeat\] tick: uptime" || true; }
restarts_of() { ctl --json --exec services | /usr/bin/python3 -c 'import json,sys; print(json.dumps({s["name"]: [s["restarts"]] for s in json.load(sys.stdin)}, sort_keys=True))'; }
level_of() { ctl --exec "log level" | awk -v n="$1" '$1 == n { print $2 }'; }
generation() { ctl --exec "service $1" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p'; }

note "at start: heartbeat at debug logs every tick; tap and console at info"
level_conf info debug ""
start_weftd box "$CONF"
wait_grep 5 "$TMP/box.log" "debug +\[heartbeat\] tick: uptime [0-9.]+ s, lag [0-9]+ us"
[[ $(level_of heartbeat) == debug && $(level_of tap) == info && $(level_of console) == info ]] ||
  fail "levels at start: $(ctl --exec 'log level')"
hb_gen=$(generation heartbeat)
con_gen=$(generation console)
restarts=$(restarts_of)

note "heartbeat's log_level removed by a reload: live, no restart, its ticks stop"
level_conf info "" ""
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
note "$OUT"
expect_out "service.heartbeat.log_level"
[[ $OUT != *"restart heartbeat"* ]] || fail "heartbeat restarted for its log_level: $OUT"
sleep 0.3  # the log thread may still hold a tick logged before
logged=$(lines "$TMP/box.log")
sleep 0.5
[[ $(ticks_since "$logged") == 0 ]] || fail "heartbeat still logs debug lines at the default level info"
[[ $(level_of heartbeat) == info ]] || fail "heartbeat's level is $(level_of heartbeat), not info"
[[ $(generation heartbeat) == "$hb_gen" && $(restarts_of) == "$restarts" ]] ||
  fail "a service ran again: heartbeat runs $hb_gen -> $(generation heartbeat), restarts $restarts -> $(restarts_of)"

note "the console's log_level = debug by a reload through the console: its debug lines, no restart"
level_conf info "" debug
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
expect_out "service.console.log_level"
logged=$(lines "$TMP/box.log")
expect_status 0 ctl --exec "read box.uptime_s"
wait_grep 5 "$TMP/box.log" "debug +\[console\] console: client .* connected" "$logged"
[[ $(generation console) == "$con_gen" && $(restarts_of) == "$restarts" ]] || fail "the console ran again for its log_level"
wait_fixed 5 "$TMP/box.log" "reload: console logs at debug now ([service.console] log_level; no restart)"

note "[weftd] log_level = warn by a reload: the default moves, heartbeat (own level debug) keeps debug"
level_conf warn debug debug
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
expect_out "weftd.log_level"
expect_out "service.heartbeat.log_level"
[[ $(level_of tap) == warn && $(level_of heartbeat) == debug && $(level_of console) == debug ]] ||
  fail "levels after the default changed: $(ctl --exec 'log level')"
logged=$(lines "$TMP/box.log")
wait_grep 5 "$TMP/box.log" "\[heartbeat\] tick: uptime" "$logged"
[[ $(generation heartbeat) == "$hb_gen" && $(restarts_of) == "$restarts" ]] || fail "a service ran again for log levels"

note "heartbeat's log_level and period together: it restarts, and runs at its level"
level_conf warn trace debug 150ms
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
[[ $OUT == *restart*heartbeat* ]] || fail "heartbeat did not restart: $OUT"
[[ $(generation heartbeat) == $((hb_gen + 1)) ]] || fail "heartbeat did not restart once ($hb_gen -> $(generation heartbeat))"
[[ $(level_of heartbeat) == trace ]] || fail "the restarted heartbeat is at $(level_of heartbeat), not trace"
logged=$(lines "$TMP/box.log")
wait_grep 5 "$TMP/box.log" "\[heartbeat\] tick: uptime" "$logged"

note "a bad level: refused at file:line with the valid levels; the levels stay"
level_conf warn loud debug
line=$(grep -n 'log_level = "loud"' "$CONF" | cut -d: -f1)
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 30
expect_out "$CONF:$line"
expect_out "unknown level 'loud'"
expect_out "trace, debug, info, warn, error, critical, off"
[[ $(level_of heartbeat) == trace ]] || fail "a refused reload changed heartbeat's level"
stop box

note "weftd --log-level info overrides the services' own levels"
level_conf info debug debug
mv "$TMP/box.log" "$TMP/box1.out"
start_weftd box "$CONF" --log-level info
[[ $(level_of heartbeat) == info && $(level_of console) == info ]] || fail "--log-level info did not win: $(ctl --exec 'log level')"
sleep 0.5
[[ $(ticks_since 0) == 0 ]] || fail "heartbeat logs debug lines under --log-level info"
stop box
echo "ok"

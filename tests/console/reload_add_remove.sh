#!/usr/bin/env bash
# Services added and removed by a live reload of a real weftd: tap (which
# needs heartbeat) is added while heartbeat itself changes and record is
# removed, in one transaction; tap starts only after heartbeat is ready
# again, record stops, console is untouched. Then removing heartbeat while
# tap still needs it is refused and changes nothing.
# Usage: reload_add_remove.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"

CONF=$TMP/box.toml
mkdir -p "$TMP/data"
# addrm_config FILE HEARTBEAT_PERIOD WITH_TAP WITH_RECORD WITH_HEARTBEAT
addrm_config() {
  {
    printf '[weftd]\ndata_dir = "%s"\nreload_settle = "200ms"\n\n' "$TMP/data"
    printf '[store]\npath = "%s"\nbatch_age = "20ms"\n\n' "$TMP/data/readings.db"
    printf '[service.console]\nsocket = "%s"\n\n' "$SOCK"
    [[ $5 == yes ]] && printf '[service.heartbeat]\nperiod = "%s"\nprefix = "box"\n\n' "$2"
    [[ $3 == yes ]] && printf '[service.tap]\npattern = "box.uptime_s"\nneeds = ["heartbeat"]\n\n'
    [[ $4 == yes ]] && printf '[service.record]\nreport_period = "200ms"\n\n'
    true
  } >"$1"
}
names() { ctl --json --exec services | "$PY" -c 'import json,sys; print(" ".join(sorted(s["name"] for s in json.load(sys.stdin))))'; }

addrm_config "$CONF" 100ms no yes yes
start_weftd box "$CONF"
[[ $(names) == "console heartbeat record" ]] || fail "services at start: $(names)"
console_gen=$(ctl --exec "service console" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p')

note "add tap (needs heartbeat), change heartbeat, remove record"
addrm_config "$CONF" 150ms yes no yes
logged=$(lines "$TMP/box.log")
expect_status 0 ctl --exec "reload --dry-run"
note "$OUT"
expect_status 0 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
[[ $(names) == "console heartbeat tap" ]] || fail "services after the reload: $(names)"
st=$(ctl --json --exec services | "$PY" -c 'import json,sys; print(" ".join("%s=%s/%s" % (s["name"], s["state"], s["ready"]) for s in json.load(sys.stdin)))')
[[ $st != *=stopped* && $st != *=failed* && $st != */False* ]] || fail "not all running and ready: $st"
[[ $(ctl --exec "service console" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p') == "$console_gen" ]] || fail "console was touched"
expect_status 0 ctl --exec "service tap"
expect_out "needs:"
expect_out "heartbeat"
wait_grep 10 "$TMP/box.log" "\[tap\] box.uptime_s" "$logged"
# heartbeat is started (ready) before tap starts: heartbeat's first line of its new run precedes tap's first.
after=$(tail -n +"$((logged + 1))" "$TMP/box.log")
hb=$(grep -nE "reload.*heartbeat|\[heartbeat\]" <<<"$after" | head -1 | cut -d: -f1)
tp=$(grep -nE "\[tap\]" <<<"$after" | head -1 | cut -d: -f1)
[[ -n $hb && -n $tp ]] && ((hb < tp)) || fail "heartbeat's restart (line $hb) is not before tap's start (line $tp): $after"
expect_status 0 ctl --exec "config history"
note "$OUT"
expect_out "start tap"
expect_out "stop record"
expect_out "restart heartbeat"

note "remove heartbeat while tap needs it: refused, nothing changes"
addrm_config "$CONF" 150ms yes no no
expect_status 1 "$WEFTCTL" --socket "$SOCK" reload --timeout 60
note "$OUT"
expect_out "heartbeat"
expect_out "refused"
[[ $(names) == "console heartbeat tap" ]] || fail "a refused reload changed the services: $(names)"
stop box
no_service_failure "$TMP/box.log"
echo "ok"

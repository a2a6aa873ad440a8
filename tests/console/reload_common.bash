# shellcheck shell=bash disable=SC2034
# Shared by the live-reload tests (sourced after console/common.bash): a
# box config with heartbeat, tap, console, gather polling a weft-devsim
# instrument on a pty, and record into a [store]; a data_dir for the
# reload history; reload_settle short so a transaction takes well under a
# second. Helpers to read a service's generation and restart count.
DEVSIM=${DEVSIM:?}
DB=$TMP/data/readings.db

# reload_box_config FILE [METER_PERIOD] [EXTRA_TOML]
reload_box_config() {
  mkdir -p "$TMP/lock" "$TMP/data"
  cat >"$1" <<TOML
[weftd]
data_dir = "$TMP/data"
reload_settle = "200ms"
stop_grace = "2s"

[store]
path = "$DB"
batch_age = "20ms"

[service.heartbeat]
period = "100ms"
prefix = "box"

[service.tap]
pattern = "box.uptime_s"
needs = ["heartbeat"]

[service.console]
socket = "$SOCK"

[service.gather]
lock_dir = "$TMP/lock"

[service.record]
report_period = "200ms"

[[serial]]
name = "bus"
path = "$TMP/dev"
baud = 19200
parity = "E"
response_timeout = "300ms"

[[instrument]]
name = "meter"
port = "bus"
unit = 5
period = "${2:-100ms}"

  [[instrument.point]]
  name = "u16"
  table = "holding"
  address = 10

[[instrument]]
name = "other"
port = "bus"
unit = 6
period = "100ms"

  [[instrument.point]]
  name = "h0"
  table = "holding"
  address = 0
${3:-}
TOML
}

# start_reload_box CONFIG: weft-devsim on $TMP/dev, then weftd on CONFIG,
# returned once gather has published meter.u16.
start_reload_box() {
  devsim_config "$TMP/sim.toml" "$TMP/dev"
  start_devsim "$DEVSIM" "$TMP/sim.toml" "$TMP/dev"
  start_weftd box "$1"
  local i
  for ((i = 0; i < 200; i++)); do
    ctl --exec "read meter.u16" 2>/dev/null | grep -q "1234" && return 0
    sleep 0.05
  done
  fail "meter.u16 was not read as 1234 within 10 s"
}

# generation NAME: the service's run count ("runs:" of `service NAME`).
generation() {
  ctl --exec "service $1" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p'
}

# restarts_json: {name: restarts} of every service, as JSON.
restarts_json() {
  ctl --json --exec services | /usr/bin/python3 -c 'import json,sys; print(json.dumps({s["name"]: s["restarts"] for s in json.load(sys.stdin)}, sort_keys=True))'
}

# states: "name=state/ready ..." of every service.
states() {
  ctl --json --exec services | /usr/bin/python3 -c 'import json,sys; print(" ".join("%s=%s/%s" % (s["name"], s["state"], s["ready"]) for s in json.load(sys.stdin)))'
}

# seq_check: the store's readings have contiguous seqs (count == max-min+1); prints "count min max".
seq_check() {
  local r
  r=$(sqlite3 -readonly "$DB" 'SELECT count(*), min(seq), max(seq) FROM readings' | tr '|' ' ')
  read -r n lo hi <<<"$r"
  ((n > 0 && n == hi - lo + 1)) || fail "store seqs not contiguous: count $n, min $lo, max $hi"
  echo "$n $lo $hi"
}

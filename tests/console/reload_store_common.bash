# shellcheck shell=bash disable=SC2034
# Shared by the tests of a live [store] change (sourced after
# console/common.bash): a box whose heartbeat publishes 5 points every 5 ms
# (1,000 readings/s) into record, with upload (on a port nobody listens
# on: it is ready before it connects, and it holds the store too); and the
# checks of what the database holds afterwards, read by the sqlite3 CLI.
DB=$TMP/data/readings.db
SQLITE=${SQLITE:-sqlite3}
command -v "$SQLITE" >/dev/null || { echo "skipped: no sqlite3 CLI"; exit 77; }

# store_box_config FILE [STORE_KEYS] [EXTRA_TOML]
store_box_config() {
  mkdir -p "$TMP/data"
  cat >"$1" <<TOML
[weftd]
data_dir = "$TMP/data"
reload_settle = "300ms"
stop_grace = "2s"

[store]
path = "$DB"
batch_age = "20ms"
${2:-}

[service.heartbeat]
period = "5ms"
prefix = "box"

[service.console]
socket = "$SOCK"

[service.record]
report_period = "100ms"

[service.upload]
url = "mqtt://127.0.0.1:${DEAD_PORT:?}"
${3:-}
TOML
}

# dead_port: a loopback TCP port nobody listens on (bound, then closed).
dead_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# gen NAME: the service's run count.
gen() { ctl --exec "service $1" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p'; }

# committed: the last "committed through seq N" record logged (0 if none).
committed() {
  { grep -oE "store: committed through seq [0-9]+" "$TMP/box.log" || echo "x 0"; } | tail -n 1 | awk '{print $NF}'
}

# wait_committed_past SECONDS SEQ: until record logs a commit past SEQ.
wait_committed_past() {
  local deadline=$((SECONDS + $1))
  until (($(committed) > $2)); do
    ((SECONDS < deadline)) || fail "record did not commit past seq $2 within $1 s (last: $(committed))"
    sleep 0.05
  done
}

q() { "$SQLITE" -readonly "$DB" "$1"; }

# ledger_check [MAX_TICK_SLIP]: the database (weftd stopped) holds contiguous
# seqs, no lost range, passes integrity_check, and every heartbeat tick
# between the first and the last stored one is there: the uptime span in
# 5 ms ticks, less the ticks heartbeat itself counted as missed, equals the
# rows stored (within MAX_TICK_SLIP, default 2: a tick's own lateness; "-":
# not checked).
# Prints "rows first last".
ledger_check() {
  local slip=${1:-2} n lo hi lost ok
  ok=$(q "PRAGMA integrity_check")
  [[ $ok == ok ]] || fail "integrity_check: $ok"
  read -r n lo hi <<<"$(q "SELECT count(*), min(seq), max(seq) FROM readings" | tr '|' ' ')"
  ((n > 0 && n == hi - lo + 1)) || fail "seqs not contiguous: $n rows, seq $lo..$hi"
  lost=$(q "SELECT count(*) || ' ' || coalesce(group_concat(first_seq || '-' || last_seq || ' ' || why, '; '), '') FROM lost")
  [[ $lost == "0 " ]] || fail "the ledger has lost ranges: $lost"
  local why
  [[ $slip == - ]] && { echo "$n $lo $hi"; return 0; }  # readings missing on purpose (record was off)
  # Per weftd run (uptime starts again at 0): ticks stored vs ticks elapsed.
  why=$(q "SELECT p.name, r.value FROM readings r JOIN points p ON p.id = r.point WHERE p.name IN ('box.uptime_s', 'box.missed_ticks') ORDER BY r.seq" |
    /usr/bin/python3 -c '
import sys
slip = int(sys.argv[1])
runs, last = [], None
for line in sys.stdin:
    name, value = line.rstrip("\n").split("|")
    value = float(value)
    if name == "box.uptime_s":
        if last is None or value < last:
            runs.append({"ticks": 0, "first": value, "missed": []})
        runs[-1]["ticks"] += 1
        runs[-1]["last"] = value
        last = value
    elif runs:
        runs[-1]["missed"].append(value)
for i, r in enumerate(runs):
    missed = (max(r["missed"]) - min(r["missed"])) if r["missed"] else 0
    expected = round((r["last"] - r["first"]) / 0.005) - int(missed) + 1
    if abs(r["ticks"] - expected) > slip:
        print("run %d: %d heartbeat ticks stored, expected %d (%.3f s of uptime, %d missed)" % (i + 1, r["ticks"], expected, r["last"] - r["first"], missed))
' "$slip")
  [[ -z $why ]] || fail "readings were lost before they reached the store: $why"
  echo "$n $lo $hi"
}

#!/usr/bin/env bash
# Persisted soft points (persist = true) against libca (pyepics):
#  1. caput wait=True to each type, kill -9, restart: caget sees the values
#     (a point without persist is back at its initial value);
#  2. a burst of 1,000 WRITEs landing while a save is held on the disk
#     (fsync gated by an LD_PRELOAD shim) is saved in a few rounds, not 1,000;
#  2b. a save that fails (fsync EIO on cue): ECA_PUTFAIL, nothing applied;
#  2c. a write refused at once behind a staged one is answered after it
#     (replies in request order);
#  3. SIGTERM while a WRITE_NOTIFY's save is held in fsync: the client gets
#     ECA_PUTFAIL (never a false ECA_NORMAL), weftd does not hang, exits 0
#     once the disk answers, and the round it finished is there after restart;
#  3b. SIGTERM with a round held and a second circuit's write staged behind
#     it: both get ECA_PUTFAIL, the staged one is never saved and still has
#     its put-log entry;
#  4. a damaged state file: logged, moved aside, initial values, no crash loop;
#  5. a point whose type changed starts at its initial value, a removed one
#     is dropped from the file.
# Usage: bash ca_persist.sh <weftd> <weftctl> <client.py> <python3> <gate_fsync.so>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
CLIENT=$3
PYTHON=$4
SHIM=$5
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

need_pyepics "$PYTHON"
DATA=$TMP/data
STATE=$DATA/ca-soft-points.toml
GATE=$TMP/gate
mkdir -p "$DATA"

# config COUNT_TYPE WITH_NOTE
config() {
  local count_type=$1 note=$2 count_initial=0 keep=${PORT:-}
  [[ $count_type == text ]] && count_initial='"x"'
  ca_box_config "$PYTHON" 1s soft - <<TOML

[[service.ca.access]]
pv = "soft:sp:*"
grant = "write"

[weftd]
data_dir = "$DATA"
stop_grace = "30s"

[[soft_point]]
name = "sp.target"
initial = 1.0
writable = true
persist = true

[[soft_point]]
name = "sp.mode"
type = "enum"
strings = ["off", "auto", "manual"]
initial = 0
writable = true
persist = true

[[soft_point]]
name = "sp.count"
type = "$count_type"
initial = $count_initial
writable = true
persist = true

[[soft_point]]
name = "sp.plain"
initial = 5.0
writable = true
TOML
  if [[ $note == yes ]]; then
    cat >>"$TMP/weftd.toml" <<TOML

[[soft_point]]
name = "sp.note"
type = "text"
initial = "none"
writable = true
persist = true
TOML
  fi
  if [[ -n $keep ]]; then  # the same port as before (ca_box_config picked a new one)
    sed -i "s/^port = $PORT\$/port = $keep/; s/^repeater_port = .*/repeater_port = $((keep + 1))/" "$TMP/weftd.toml"
    PORT=$keep
  fi
}

# run NAME: weftd with the fsync gate shim, waited for.
run() {
  start_bg "$1" env LD_PRELOAD="$(preload_list "$WEFTD" "$SHIM")" GATE_FSYNC_MATCH=ca-soft-points GATE_FSYNC_GATE="$GATE" \
    "$WEFTD" --config "$TMP/weftd.toml" --for 120s
  wait_grep 20 "$TMP/$1.log" "all 3 services ready"
}

client() { timeout 60 "$PYTHON" "$CLIENT" "$PORT" soft "$@"; }

rounds() { "$WEFTCTL" --socket "$TMP/weftd.sock" --exec 'ca puts 1' | sed -nE 's/.* ([0-9]+) writes saved in ([0-9]+) rounds.*/\1 \2/p'; }

note "phase 1: caput, kill -9, restart"
config integer yes
touch "$GATE"
run weftd1
client write >"$TMP/write.out" 2>&1 || fail "write client: $(cat "$TMP/write.out")"
grep -q 'name = "sp.target"' "$STATE" || fail "no sp.target in $STATE"
cat "$STATE"
kill -KILL "${PID_OF[weftd1]}"
wait_exit weftd1 10
run weftd2
grep -F "soft point sp.target restored to 72.5" "$TMP/weftd2.log" || fail "no restore line"
client expect '{"sp:target": 72.5, "sp:mode": 2, "sp:note": "saved text", "sp:count": -3, "sp:plain": 5.0}' \
  >"$TMP/expect1.out" 2>&1 || fail "after kill -9: $(cat "$TMP/expect1.out")"

note "phase 2: 1,000 WRITEs while a save is held in fsync"
read -r saved0 rounds0 < <(rounds)
rm -f "$GATE" "$GATE.reached"
start_bg burst timeout 90 "$PYTHON" "$CLIENT" "$PORT" soft burst 1000 "$TMP/sent"
wait_file 30 "$GATE.reached"
wait_file 30 "$TMP/sent"
sleep 0.3  # the last bytes on their way through loopback (more rounds if not: still far below 1,000)
touch "$GATE"
wait_exit burst 60
cat "$TMP/burst.log"
((EXIT_STATUS == 0)) || fail "burst client failed"
read -r saved1 rounds1 < <(rounds)
"$WEFTCTL" --socket "$TMP/weftd.sock" --exec 'ca puts 1' | grep "persisted soft points"
note "1,000 writes: $((saved1 - saved0)) saved in $((rounds1 - rounds0)) rounds"
((saved1 - saved0 == 1000)) || fail "$((saved1 - saved0)) writes saved, expected 1000"
((rounds1 - rounds0 <= 20)) || fail "$((rounds1 - rounds0)) rounds for 1,000 writes: not coalesced"
grep -q 'value = 1000.0' "$STATE" || fail "the file does not hold the last write: $(cat "$STATE")"

note "phase 2b: a save that fails (fsync EIO)"
touch "$GATE.fail"
client putfail 5 >"$TMP/putfail.out" 2>&1 || fail "failed save: $(cat "$TMP/putfail.out")"
rm -f "$GATE.fail"
grep -E "ca: cannot save the persisted soft points \(cannot fsync .*: Input/output error\); 1 write\(s\) failed" \
  "$TMP/weftd2.log" || fail "no log error for the failed save"
grep -E "ca: put soft:sp:target by .*: 1000 -> 5: failed: not saved, so not applied" "$TMP/weftd2.log" ||
  fail "no put-log line for the failed save"
grep -q 'value = 1000.0' "$STATE" || fail "the failed save changed the file: $(cat "$STATE")"

note "phase 2c: a refused write behind a staged one is answered after it (request order)"
timeout 30 "$PYTHON" "$(dirname "$CLIENT")/ca_persist_order.py" "$PORT" soft:sp:target >"$TMP/order.out" 2>&1 ||
  fail "reply order: $(cat "$TMP/order.out")"
cat "$TMP/order.out"

note "phase 3: SIGTERM while a WRITE_NOTIFY's save is held in fsync"
rm -f "$GATE" "$GATE.reached"
start_bg stopper timeout 60 "$PYTHON" "$CLIENT" "$PORT" soft stopwrite
wait_fixed 20 "$TMP/stopper.log" "put sent"
wait_file 20 "$GATE.reached"
kill -TERM "${PID_OF[weftd2]}"
wait_exit stopper 30
cat "$TMP/stopper.log"
grep -q "^outcome status=160 " "$TMP/stopper.log" || fail "the client did not get ECA_PUTFAIL"
running weftd2 || fail "weftd exited before the disk answered (the save was cut)"
touch "$GATE"
wait_exit weftd2 20
((EXIT_STATUS == 0)) || fail "weftd exited $EXIT_STATUS after SIGTERM, expected 0"
no_service_failure "$TMP/weftd2.log"
grep -E "stopped while 1 write\(s\) to persisted soft points waited for the disk; 1 answered ECA_PUTFAIL" \
  "$TMP/weftd2.log" || fail "no log line for the write cut short"
grep -E "ca: put soft:sp:target by .*: 1000 -> 99: ok" "$TMP/weftd2.log" || fail "no put-log line for the saved round"
run weftd3
client expect '{"sp:target": 99.0}' >"$TMP/expect3.out" 2>&1 || fail "after the stop: $(cat "$TMP/expect3.out")"

note "phase 3b: SIGTERM while one round is on the disk and another circuit's write waits for the next"
rm -f "$GATE" "$GATE.reached"
start_bg first timeout 60 "$PYTHON" "$CLIENT" "$PORT" soft stopwrite 11
wait_fixed 20 "$TMP/first.log" "put sent"
wait_file 20 "$GATE.reached"
start_bg second timeout 60 "$PYTHON" "$CLIENT" "$PORT" soft stopwrite 22
wait_fixed 20 "$TMP/second.log" "put sent"
timeout 20 bash -c "until '$WEFTCTL' --socket '$TMP/weftd.sock' --exec 'ca puts 1' | grep -q ', 1 waiting'; do sleep 0.05; done" ||
  fail "the second write was not staged behind the held round"
kill -TERM "${PID_OF[weftd3]}"
wait_exit first 30
wait_exit second 30
grep -q "^outcome status=160 " "$TMP/first.log" || fail "the held round's client did not get ECA_PUTFAIL"
grep -q "^outcome status=160 " "$TMP/second.log" || fail "the staged write's client did not get ECA_PUTFAIL"
touch "$GATE"
wait_exit weftd3 20
((EXIT_STATUS == 0)) || fail "weftd exited $EXIT_STATUS after SIGTERM, expected 0"
no_service_failure "$TMP/weftd3.log"
grep -E "ca: put soft:sp:target by .*: 99 -> 11: ok" "$TMP/weftd3.log" || fail "no put-log line for the held round"
# The write staged behind it never reached the disk: still one put-log entry (every attempt is one).
grep -E "ca: put soft:sp:target by .*: 11 -> 22: failed: the ca service stopped before it was saved" \
  "$TMP/weftd3.log" || fail "no put-log line for the write the stop left staged"
grep -q 'value = 11.0' "$STATE" || fail "the file does not hold the held round's value: $(cat "$STATE")"

note "phase 4: a damaged state file"
printf 'version = 1\n[[point]]\nname = "sp.target"\ntype = "number"\nvalue = 7\x00\xff garbage' >"$STATE"
run weftd4
grep -E "ca: the persisted soft points' file is damaged \(.*ca-soft-points.toml.*\); moved it aside to .*ca-soft-points.toml.damaged-" \
  "$TMP/weftd4.log" || fail "no damage line"
ls "$DATA"/ca-soft-points.toml.damaged-* >/dev/null || fail "not moved aside"
[[ ! -e $STATE ]] || fail "the damaged file is still in place"
client expect '{"sp:target": 1.0, "sp:mode": 0, "sp:count": 0, "sp:note": "none"}' >"$TMP/expect4.out" 2>&1 ||
  fail "after the damaged file: $(cat "$TMP/expect4.out")"
client write >"$TMP/write4.out" 2>&1 || fail "write after the damage: $(cat "$TMP/write4.out")"
grep -q 'name = "sp.note"' "$STATE" || fail "no new state file"
stop weftd4

note "phase 5: a type changed, a point removed"
config text no
run weftd5
grep -F "soft point sp.count: it was saved as integer and is now text" "$TMP/weftd5.log" || fail "no type-change line"
grep -F "sp.note in $STATE is no longer a persist = true soft point" "$TMP/weftd5.log" || fail "no drop line"
client expect '{"sp:target": 72.5, "sp:mode": 2, "sp:count": "x"}' >"$TMP/expect5.out" 2>&1 ||
  fail "after the change: $(cat "$TMP/expect5.out")"
timeout 10 bash -c "while grep -q 'sp.note' '$STATE'; do sleep 0.05; done" || fail "sp.note still in the file"
grep -q 'sp.count' "$STATE" && fail "the integer sp.count is still in the file"
stop weftd5
no_service_failure "$TMP/weftd5.log"
grep -qiE "segfault|terminate called|fatal signal" "$TMP"/weftd*.log && fail "weftd crashed"
echo "PASS ca_persist"

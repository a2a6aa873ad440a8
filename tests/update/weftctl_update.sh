#!/usr/bin/env bash
# weftctl update against a real weftd, without systemd and without root:
# the packages are real .debs (make_deb.sh: dpkg-deb from the built
# binaries), installed into a prefix (prefix_install.sh) and weftd
# restarted by a script that does what `systemctl restart` does for a
# Type=notify unit (restart_weftd.sh). Four updates of one box:
#   1. 0.1.0-1 -> 0.1.0-2 (good, a first update: no rollback package of
#      0.1.0-1 exists, which it says): committed; the same package again
#      is refused as not newer, and nothing changes;
#   2. -> 0.1.0-3 (its weftd exits at start): rolled back to 0.1.0-2,
#      the failure and why recorded, its package deleted; -> 0.1.0-5
#      (its weftd writes store schema 2): refused; -> 0.1.0-6 (its weftd
#      is killed 5 s after start, in the settle window): rolled back;
#      -> 0.1.0-7 (its weftd, the health box's run path, holds the loop
#      3 s from 4 s after start, in the settle window): rolled back, the
#      recorded why naming the stall and the culprit service;
#   3. -> 0.1.0-4, the updater killed -9 in its settle window: the box
#      runs 0.1.0-4 and says the update is pending (console `version`);
#      `weftctl update --resume` rolls back to 0.1.0-2;
#   4. -> 0.1.0-4, the updater killed -9 mid-install: the orphaned
#      install still holds the updater's lock (a resume meanwhile is
#      refused), then --resume rolls back to 0.1.0-2.
# Throughout: weftd's STATUS= (a fake NOTIFY_SOCKET) carries the update
# note, and the store written by every version keeps growing (no
# downgrade, no loss). Prints how long each update and rollback took.
# Usage: weftctl_update.sh WEFTD WEFTCTL PYTHON HEALTH_BOX
set -euo pipefail
WEFTD=$1 WEFTCTL=$2 PYTHON=$3 HEALTH_BOX=$4
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/common.bash
source "$HERE/../integration/common.bash"
# the weftd restart_weftd.sh started (its own session) goes too, however the test ends
trap 'kill -TERM "$(cat "$STATE/weftd.pid" 2>/dev/null)" 2>/dev/null || true; cleanup' EXIT

command -v dpkg-deb >/dev/null || { echo "SKIP: no dpkg-deb"; exit 77; }
ROOT=$TMP/root STATE=$TMP/box DATA=$TMP/data SOCK=$TMP/weftd.sock
mkdir -p "$ROOT" "$STATE" "$DATA"
cat >"$TMP/weftd.toml" <<TOML
[weftd]
data_dir = "$DATA"
stop_grace = "2s"
# a loaded 2-core test machine: only a real hang is a stall here
stall_threshold = "2s"
hang_threshold = "20s"
update_settle = "2s"

[service.console]
socket = "$SOCK"

[service.heartbeat]
period = "100ms"
prefix = "box"

[store]
path = "$DATA/readings.db"

[service.record]
pattern = "*"
TOML

# the box's weftd, stripped (the packages are copied a few times)
strip --strip-debug -o "$TMP/weftd" "$WEFTD"
for v in 1 2 4; do bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-$v.deb" "0.1.0-$v" "$TMP/weftd" "$WEFTCTL"; done
bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-3.deb" 0.1.0-3 "$TMP/weftd" "$WEFTCTL" bad
bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-5.deb" 0.1.0-5 "$TMP/weftd" "$WEFTCTL" schema2
bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-6.deb" 0.1.0-6 "$TMP/weftd" "$WEFTCTL" dies
strip --strip-debug -o "$TMP/weft-health-box" "$HEALTH_BOX"
bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-7.deb" 0.1.0-7 "$TMP/weftd" "$WEFTCTL" stalls "$TMP/weft-health-box"

start_bg notify "$PYTHON" "$HERE/../health/notify_listener.py" "$STATE/notify.sock" "$TMP/notify.out" 120
wait_grep 5 "$TMP/notify.out" LISTENING

RESTART="bash $HERE/restart_weftd.sh $ROOT $TMP/weftd.toml $STATE $WEFTCTL $SOCK"
INSTALL="bash $HERE/prefix_install.sh $ROOT"
UPDATE=("$WEFTCTL" --socket "$SOCK" update --install-cmd "$INSTALL" --restart-cmd "$RESTART"
        --version-cmd "cat $ROOT/version" --start-timeout 30)
ctl() { "$WEFTCTL" --socket "$SOCK" --timeout 10 "$@"; }
installed() { cat "$ROOT/version"; }
weftd_pid() { cat "$STATE/weftd.pid"; }
rows() { ctl -e 'sql SELECT count(*) AS n FROM readings' | awk 'NR == 2 { print $1 }'; }
last_update() { ctl --json -e version | "$PYTHON" -c 'import json,sys; u=json.load(sys.stdin)["last_update"]; print(u["result"] + "|" + u["from"] + "|" + u["to"] + "|" + u["why"])'; }
pending_json() { ctl --json -e version | "$PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["pending"]))'; }
# run_update NAME ARGS...: the update, its output in $TMP/NAME.out, its exit status in $RC and seconds in $TOOK
run_update() {
  local name=$1 start
  shift
  start=$(date +%s%N)
  RC=0
  "${UPDATE[@]}" "$@" >"$TMP/$name.out" 2>&1 || RC=$?
  TOOK=$((($(date +%s%N) - start) / 1000000))
  sed 's/^/    /' "$TMP/$name.out"
}

note "install 0.1.0-1 and start it"
bash "$HERE/prefix_install.sh" "$ROOT" "$TMP/weft_0.1.0-1.deb" >/dev/null
$RESTART >"$TMP/first-start.out" || fail "weftd 0.1.0-1 did not start: $(cat "$TMP/first-start.out")"
wait_file 10 "$DATA/readings.db"
ctl -e version | grep -q "last update: *- (weftctl update never ran here)" || fail "a fresh box shows an update"

note "1. good update 0.1.0-1 -> 0.1.0-2 (settle 2 s from [weftd] update_settle)"
pid1=$(weftd_pid)
run_update good "$TMP/weft_0.1.0-2.deb"
((RC == 0)) || fail "the good update exited $RC"
GOOD_S=$TOOK
[[ $(installed) == 0.1.0-2 ]] || fail "installed: $(installed), not 0.1.0-2"
[[ $(weftd_pid) != "$pid1" ]] || fail "weftd was not restarted"
grep -q "no package of the installed weft 0.1.0-1 is kept" "$TMP/good.out" || fail "the first update did not say it has no rollback package"
grep -q "no restart and no stall for 2.0 s" "$TMP/good.out" || fail "the settle window was not [weftd] update_settle (2 s)"
[[ $(last_update) == "committed|0.1.0-1|0.1.0-2|" ]] || fail "last update: $(last_update)"
[[ -f $DATA/update/packages/weft_0.1.0-2_$(dpkg --print-architecture).deb ]] || fail "the installed package is not kept"
[[ ! -e $DATA/update/pending ]] || fail "the marker is left after a commit"
ctl -e version | sed 's/^/    /'
ctl -e services | grep -q "^update: 0.1.0-1 -> 0.1.0-2 committed$" || fail "services shows no update note"
wait_grep 10 "$TMP/notify.out" "^STATUS=.*; update: 0.1.0-1 -> 0.1.0-2 committed"
rows1=$(rows)

note "   the same package again: refused as not newer, nothing changes"
pid2=$(weftd_pid)
run_update again "$TMP/weft_0.1.0-2.deb"
((RC == 1)) || fail "a not-newer package exited $RC, not 1"
grep -q "is not newer than the installed 0.1.0-2" "$TMP/again.out" || fail "no 'not newer' message"
[[ $(weftd_pid) == "$pid2" && $(installed) == 0.1.0-2 ]] || fail "a refused update changed the box"

note "2. bad update -> 0.1.0-3 (its weftd exits at start): rolled back"
run_update bad "$TMP/weft_0.1.0-3.deb"
((RC == 4)) || fail "the bad update exited $RC, not 4 (rolled back)"
BAD_S=$TOOK
[[ $(installed) == 0.1.0-2 ]] || fail "after the rollback installed: $(installed)"
[[ $(weftd_pid) != "$pid2" ]] || fail "no weftd was restarted"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $from == 0.1.0-2 && $to == 0.1.0-3 ]] || fail "last update: $(last_update)"
grep -q "exited at start" <<<"$why" || fail "the recorded why does not say it exited at start: $why"
[[ ! -e $DATA/update/packages/weft_0.1.0-3_$(dpkg --print-architecture).deb ]] || fail "the failed package is kept"
[[ -f $DATA/update/packages/weft_0.1.0-2_$(dpkg --print-architecture).deb ]] || fail "the rollback package is gone"
ctl -e version | sed 's/^/    /'
wait_grep 10 "$TMP/notify.out" "^STATUS=.*; update: 0.1.0-2 -> 0.1.0-3 rolled back: "
grep -m1 "^STATUS=.*; update: 0.1.0-2 -> 0.1.0-3 rolled back: " "$TMP/notify.out" | sed 's/^/    /'
rows2=$(rows)
((rows2 > rows1)) || fail "the store did not grow across the updates ($rows1 -> $rows2 readings)"

note "   -> 0.1.0-5, whose weftd writes store schema 2: refused (a rollback could not open the store)"
pid3=$(weftd_pid)
run_update schema "$TMP/weft_0.1.0-5.deb"
((RC == 1)) || fail "a newer store schema exited $RC, not 1 (refused)"
grep -q "writes store schema 2, the running weftd reads only up to 1" "$TMP/schema.out" || fail "no schema message"
[[ $(weftd_pid) == "$pid3" && $(installed) == 0.1.0-2 && ! -e $DATA/update/pending ]] || fail "a refused update changed the box"

note "   -> 0.1.0-6, whose weftd is killed 5 s after its start (in the settle window): rolled back"
run_update dies --settle 20 "$TMP/weft_0.1.0-6.deb"
((RC == 4)) || fail "the update whose weftd dies exited $RC, not 4 (rolled back)"
DIES_S=$TOOK
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-6 && $why == *"went away during the settle window"* ]] ||
  fail "last update: $(last_update)"
[[ $(installed) == 0.1.0-2 ]] || fail "after the rollback installed: $(installed)"

note "   -> 0.1.0-7, whose weftd holds its loop 3 s from 4 s after its start (in the settle window): rolled back"
run_update stalls --settle 20 "$TMP/weft_0.1.0-7.deb"
((RC == 4)) || fail "the update whose weftd stalls exited $RC, not 4 (rolled back)"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-7 && $why == *"during the settle window: the loop stalled (service 'busy'"* ]] ||
  fail "last update: $(last_update)"
[[ $(installed) == 0.1.0-2 ]] || fail "after the rollback installed: $(installed)"

note "3. update -> 0.1.0-4, the updater killed -9 in its settle window"
"${UPDATE[@]}" --settle 60 "$TMP/weft_0.1.0-4.deb" >"$TMP/killed.out" 2>&1 &
updater=$!
timeout 60 bash -c 'until grep -qx step=settling "$1" 2>/dev/null; do sleep 0.05; done' _ "$DATA/update/pending" ||
  fail "the updater never reached its settle window: $(cat "$TMP/killed.out")"
kill -KILL "$updater"
wait "$updater" 2>/dev/null || true
[[ $(installed) == 0.1.0-4 ]] || fail "killed in the settle window, installed: $(installed)"
p=$(pending_json)
grep -q '"step": "settling", "from": "0.1.0-2", "to": "0.1.0-4"' <<<"$p" || fail "version shows no pending update: $p"
grep -q '"updater_alive": false' <<<"$p" || fail "version thinks the killed updater runs: $p"
ctl -e version | grep -q "pending update: *0.1.0-2 -> 0.1.0-4, step settling, updater pid $updater gone" ||
  fail "version's text names no pending update"
start=$(date +%s%N)
RC=0
"$WEFTCTL" --socket "$SOCK" update --resume >"$TMP/resume.out" 2>&1 || RC=$?
RESUME_S=$((($(date +%s%N) - start) / 1000000))
sed 's/^/    /' "$TMP/resume.out"
((RC == 4)) || fail "--resume exited $RC, not 4 (rolled back)"
[[ $(installed) == 0.1.0-2 ]] || fail "after --resume installed: $(installed)"
[[ ! -e $DATA/update/pending ]] || fail "the marker is left after --resume"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-4 && $why == *"interrupted at step settling"* ]] || fail "last update: $(last_update)"
RC=0
"$WEFTCTL" --socket "$SOCK" update --resume >"$TMP/resume2.out" 2>&1 || RC=$?
((RC == 0)) && grep -q "no update is pending" "$TMP/resume2.out" || fail "a second --resume: $RC $(cat "$TMP/resume2.out")"

note "4. update -> 0.1.0-4, the updater killed -9 mid-install"
touch "$ROOT/slow-install"
"${UPDATE[@]}" "$TMP/weft_0.1.0-4.deb" >"$TMP/killed2.out" 2>&1 &
updater=$!
timeout 60 bash -c 'until grep -qx step=installing "$1" 2>/dev/null; do sleep 0.05; done' _ "$DATA/update/pending" ||
  fail "the updater never reached its install step: $(cat "$TMP/killed2.out")"
sleep 0.5
kill -KILL "$updater"
wait "$updater" 2>/dev/null || true
rm "$ROOT/slow-install"
RC=0
"$WEFTCTL" --socket "$SOCK" update --resume >"$TMP/resume3.out" 2>&1 || RC=$?
((RC == 1)) && grep -q "another weftctl update holds" "$TMP/resume3.out" ||
  fail "a resume beside the orphaned install: exit $RC: $(cat "$TMP/resume3.out")"
timeout 20 bash -c 'until [[ $(cat "$1") == 0.1.0-4 ]]; do sleep 0.05; done' _ "$ROOT/version" ||
  fail "the orphaned install did not finish"
for _ in $(seq 100); do  # the lock frees once the orphaned install's shell exits
  RC=0
  "$WEFTCTL" --socket "$SOCK" update --resume >"$TMP/resume4.out" 2>&1 || RC=$?
  grep -q "another weftctl update holds" "$TMP/resume4.out" || break
  sleep 0.2
done
sed 's/^/    /' "$TMP/resume4.out"
((RC == 4)) || fail "--resume after the mid-install kill exited $RC, not 4"
[[ $(installed) == 0.1.0-2 ]] || fail "after the mid-install kill and --resume installed: $(installed)"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $why == *"interrupted at step installing"* ]] || fail "last update: $(last_update)"
((rows2 < $(rows))) || fail "the store did not grow"
no_service_failure "$STATE/weftd.log"

note "figures: good update $GOOD_S ms (settle 2 s), bad update and its rollback $BAD_S ms, crash in the settle window and its rollback $DIES_S ms, resume (a rollback) $RESUME_S ms"
echo "PASS"

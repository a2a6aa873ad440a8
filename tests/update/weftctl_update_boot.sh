#!/usr/bin/env bash
# The boot-time resolution of an interrupted update: the command
# packaging/weft-update-resume.service runs (its ExecStart, read from the
# unit, with the built weftctl and the test's data dir), against a real
# weftd, without systemd or root (packages and restart as in
# weftctl_update.sh):
#   a. a box with nothing pending: a no-op, exit 0, no update dir written;
#   b. a power cut (updater and weftd killed -9) in the settle window of
#      0.1.0-1 -> 0.1.0-2; at "boot" weftd starts on 0.1.0-2 and the boot
#      command rolls back to 0.1.0-1 (the resume rule: never found healthy);
#   c. a power cut mid-install of 0.1.0-3 (its weftd exits at start): the
#      new files are in place, weftd cannot start at "boot", and the boot
#      command (no weftd answers) rolls back to 0.1.0-1;
#   d. the boot command beside a running update: with --lock-wait 0 it is
#      refused naming the holder, with the unit's wait it waits, finds
#      nothing pending and the update commits undisturbed;
#   e. a fresh update with no weftd answering: exit 3, nothing changed, the
#      message says what to do (and names a pending marker when one exists);
#   f. the marker's path cannot be looked at (a symlink loop here, ELOOP; a
#      non-root operator meets EACCES on /var/lib/weft): the fresh update
#      and the boot command each say so and change nothing (no abort);
#   g. the update's default restart command (no --restart-cmd) through a
#      `systemctl` with systemd's start rate limit (start_limited_systemctl.sh):
#      a power cut mid-install of 0.1.0-3, then at boot Restart=on-failure
#      starts its weftd 5 times (each exits), using up weftd.service's
#      StartLimitBurst; the boot command's rollback still restarts weftd;
#   h. a marker at committing beside a damaged state file (weftd down):
#      the boot command commits, keeps the damaged file aside and says so
#      (the history it held is not silently dropped);
#   i. a power cut in the boot command's own rollback (0.1.0-2 being
#      reinstalled after a cut in the settle window of 0.1.0-4): the
#      marker stays at rolling-back and the next boot's command rolls
#      back again;
#   j. --lock-wait longer than steady_clock can hold (1e10 s): waits (it
#      overflowed into a deadline in the past and refused at once).
# Usage: weftctl_update_boot.sh WEFTD WEFTCTL PYTHON UNIT
set -euo pipefail
WEFTD=$1 WEFTCTL=$2 PYTHON=$3 UNIT=$4
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
stall_threshold = "2s"
hang_threshold = "20s"
update_settle = "2s"

[service.console]
socket = "$SOCK"

[service.heartbeat]
period = "100ms"
prefix = "box"
TOML
strip --strip-debug -o "$TMP/weftd" "$WEFTD"
for v in 1 2 4; do bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-$v.deb" "0.1.0-$v" "$TMP/weftd" "$WEFTCTL"; done
bash "$HERE/make_deb.sh" "$TMP/weft_0.1.0-3.deb" 0.1.0-3 "$TMP/weftd" "$WEFTCTL" bad

RESTART="bash $HERE/restart_weftd.sh $ROOT $TMP/weftd.toml $STATE $WEFTCTL $SOCK"
INSTALL="bash $HERE/prefix_install.sh $ROOT"
UPDATE=("$WEFTCTL" --socket "$SOCK" update --install-cmd "$INSTALL" --restart-cmd "$RESTART"
        --version-cmd "cat $ROOT/version" --start-timeout 30)
# The unit's command: ExecStart with the built weftctl; the socket through
# $WEFT_SOCKET (the unit names none: the default), the data dir added (the
# unit's default, /var/lib/weft, is not this box's when weftd is down).
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
[[ $exec_start == /usr/bin/weftctl\ update\ --resume\ --if-pending* ]] || fail "unexpected ExecStart in $UNIT: $exec_start"
read -r -a BOOT <<<"${exec_start#/usr/bin/weftctl }"
BOOT=(env WEFT_SOCKET="$SOCK" "$WEFTCTL" "${BOOT[@]}" --data-dir "$DATA")
ctl() { "$WEFTCTL" --socket "$SOCK" --timeout 10 "$@"; }
installed() { cat "$ROOT/version"; }
last_update() { ctl --json -e version | "$PYTHON" -c 'import json,sys; u=json.load(sys.stdin)["last_update"]; print(u["result"] + "|" + u["from"] + "|" + u["to"] + "|" + u["why"])'; }
# boot NAME [ARGS...]: the boot command, output in $TMP/NAME.out, status in $RC
boot() {
  local name=$1
  shift
  RC=0
  "${BOOT[@]}" "$@" >"$TMP/$name.out" 2>&1 || RC=$?
  sed 's/^/    /' "$TMP/$name.out"
}
# power_cut: the updater, whatever it runs (its own process groups) and weftd die at once
power_cut() {
  local updater=$1 child
  for child in $(pgrep -P "$updater" || true); do kill -KILL -- "-$child" 2>/dev/null || true; done
  kill -KILL "$updater" 2>/dev/null || true
  kill -KILL "$(cat "$STATE/weftd.pid")" 2>/dev/null || true
  wait "$updater" 2>/dev/null || true
  timeout 10 tail --pid="$(cat "$STATE/weftd.pid")" -f /dev/null || fail "weftd outlived the power cut"
}
wait_step() {
  timeout 60 bash -c 'until grep -qx "step=$2" "$1" 2>/dev/null; do sleep 0.05; done' _ "$DATA/update/pending" "$1" ||
    fail "the updater never reached step $1"
}

note "install 0.1.0-1 and start it"
bash "$HERE/prefix_install.sh" "$ROOT" "$TMP/weft_0.1.0-1.deb" >/dev/null
$RESTART >"$TMP/first-start.out" || fail "weftd 0.1.0-1 did not start: $(cat "$TMP/first-start.out")"

note "a. the boot command with nothing pending: a no-op"
boot noop
((RC == 0)) || fail "--if-pending with nothing pending exited $RC"
grep -q "no update is pending" "$TMP/noop.out" || fail "no 'nothing pending' line"
[[ ! -e $DATA/update ]] || fail "--if-pending with nothing pending wrote $DATA/update"

note "b. power cut in the settle window of 0.1.0-1 -> 0.1.0-2, then boot"
"${UPDATE[@]}" --settle 60 --rollback-package "$TMP/weft_0.1.0-1.deb" "$TMP/weft_0.1.0-2.deb" >"$TMP/b.out" 2>&1 &
updater=$!
wait_step settling
power_cut "$updater"
[[ $(installed) == 0.1.0-2 ]] || fail "after the power cut installed: $(installed)"
$RESTART >/dev/null || fail "weftd 0.1.0-2 did not start at boot"
boot b-boot
((RC == 4)) || fail "the boot command exited $RC, not 4 (rolled back)"
[[ $(installed) == 0.1.0-1 && ! -e $DATA/update/pending ]] || fail "after the boot command: installed $(installed), marker $(ls "$DATA/update")"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-2 && $why == *"interrupted at step settling"* ]] || fail "last update: $(last_update)"

note "c. power cut mid-install of 0.1.0-3 (its weftd exits at start), then boot: no weftd answers"
touch "$ROOT/slow-install"
"${UPDATE[@]}" "$TMP/weft_0.1.0-3.deb" >"$TMP/c.out" 2>&1 &
updater=$!
wait_step installing
timeout 20 bash -c 'until grep -q "exits at start" "$1/usr/bin/weftd" 2>/dev/null; do sleep 0.05; done' _ "$ROOT" ||
  fail "the install never put the new weftd in place"
power_cut "$updater"
rm "$ROOT/slow-install"
if $RESTART >"$TMP/c-start.out"; then fail "the half-installed 0.1.0-3 weftd started"; fi
boot c-boot
((RC == 4)) || fail "the boot command without weftd exited $RC, not 4 (rolled back)"
[[ $(installed) == 0.1.0-1 && ! -e $DATA/update/pending ]] || fail "after the boot command: installed $(installed)"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-3 && $why == *"interrupted at step installing"* ]] || fail "last update: $(last_update)"

note "d. the boot command beside a running update never races it"
"${UPDATE[@]}" --settle 4 "$TMP/weft_0.1.0-2.deb" >"$TMP/d.out" 2>&1 &
updater=$!
wait_step settling
RC=0
env WEFT_SOCKET="$SOCK" "$WEFTCTL" update --resume --if-pending --lock-wait 0 --data-dir "$DATA" >"$TMP/d-refused.out" 2>&1 || RC=$?
((RC == 1)) && grep -q "another weftctl update holds .*pid $updater" "$TMP/d-refused.out" ||
  fail "--lock-wait 0 beside the updater: exit $RC: $(cat "$TMP/d-refused.out")"
boot d-wait
((RC == 0)) || fail "the boot command beside the updater exited $RC"
grep -q "waiting up to" "$TMP/d-wait.out" && grep -q "no update is pending" "$TMP/d-wait.out" ||
  fail "the boot command did not wait and then find nothing pending"
RC=0
wait "$updater" || RC=$?
sed 's/^/    /' "$TMP/d.out"
((RC == 0)) || fail "the update beside the boot command exited $RC"
[[ $(installed) == 0.1.0-2 && $(last_update) == "committed|0.1.0-1|0.1.0-2|" ]] || fail "last update: $(last_update)"
note "e. a fresh update with no weftd answering: refused, saying what to do"
kill -TERM "$(cat "$STATE/weftd.pid")"
timeout 20 tail --pid="$(cat "$STATE/weftd.pid")" -f /dev/null || fail "weftd did not stop"
RC=0
"${UPDATE[@]}" --data-dir "$DATA" "$TMP/weft_0.1.0-3.deb" >"$TMP/e.out" 2>&1 || RC=$?
sed 's/^/    /' "$TMP/e.out"
((RC == 3)) || fail "an update with no weftd exited $RC, not 3"
for hint in "weftd does not answer on $SOCK" "nothing was changed" "systemctl start weftd" "journalctl -u weftd" \
  "pass --socket" "dpkg -i PACKAGE.deb"; do
  grep -qF "$hint" "$TMP/e.out" || fail "the no-weftd message lacks '$hint'"
done
! grep -q "pending" "$TMP/e.out" || fail "the no-weftd message names a pending update where none is"
[[ $(installed) == 0.1.0-2 && ! -e $DATA/update/pending ]] || fail "a refused update changed the box"
printf '%s\n' step=settling >"$DATA/update/pending.hint-test"
mv "$DATA/update/pending.hint-test" "$DATA/update/pending"
RC=0
"${UPDATE[@]}" --data-dir "$DATA" "$TMP/weft_0.1.0-3.deb" >"$TMP/e2.out" 2>&1 || RC=$?
((RC == 3)) && grep -qF "An interrupted update is pending in $DATA/update: \`weftctl update --resume\`" "$TMP/e2.out" ||
  fail "with a marker and no weftd: exit $RC: $(cat "$TMP/e2.out")"
rm "$DATA/update/pending"

note "f. the marker's path cannot be looked at: said, nothing changed, no abort"
mv "$DATA/update" "$DATA/update.real"
ln -s update "$DATA/update"
RC=0
"${UPDATE[@]}" --data-dir "$DATA" "$TMP/weft_0.1.0-3.deb" >"$TMP/f.out" 2>&1 || RC=$?
sed 's/^/    /' "$TMP/f.out"
((RC == 3)) && grep -qF "cannot tell whether an interrupted update is pending: cannot look at $DATA/update/pending" "$TMP/f.out" ||
  fail "a fresh update, no weftd, the marker's path unreadable: exit $RC"
boot f-boot
((RC == 1)) && grep -qF "cannot tell whether an update is pending: cannot look at $DATA/update/pending" "$TMP/f-boot.out" &&
  grep -qF "nothing was changed" "$TMP/f-boot.out" || fail "the boot command, the marker's path unreadable: exit $RC"
rm "$DATA/update"
mv "$DATA/update.real" "$DATA/update"
[[ $(installed) == 0.1.0-2 ]] || fail "an unreadable marker path changed the box"

note "g. a power cut mid-install, weftd's start limit used up at boot, then the boot command: weftd restarts on 0.1.0-2"
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexec bash %q %q %q 3600 "$@"\n' "$HERE/start_limited_systemctl.sh" "$STATE" "$RESTART" >"$TMP/bin/systemctl"
chmod +x "$TMP/bin/systemctl"
SYSTEMD_PATH=$TMP/bin:$PATH
$RESTART >/dev/null || fail "weftd 0.1.0-2 did not start"
touch "$ROOT/slow-install"
PATH=$SYSTEMD_PATH "$WEFTCTL" --socket "$SOCK" update --install-cmd "$INSTALL" --version-cmd "cat $ROOT/version" \
  --start-timeout 30 "$TMP/weft_0.1.0-3.deb" >"$TMP/g.out" 2>&1 &
updater=$!
wait_step installing
timeout 20 bash -c 'until grep -q "exits at start" "$1/usr/bin/weftd" 2>/dev/null; do sleep 0.05; done' _ "$ROOT" ||
  fail "the install never put the new weftd in place"
power_cut "$updater"
rm "$ROOT/slow-install"
for _ in 1 2 3 4 5; do
  if PATH=$SYSTEMD_PATH systemctl restart weftd >>"$TMP/g-crashloop.out" 2>&1; then fail "the half-installed 0.1.0-3 weftd started"; fi
done
RC=0
PATH=$SYSTEMD_PATH systemctl restart weftd >"$TMP/g-limit.out" 2>&1 || RC=$?
((RC == 1)) && grep -q "attempted too often" "$TMP/g-limit.out" || fail "a 6th start was not refused by the start limit"
PATH=$SYSTEMD_PATH boot g-boot
((RC == 4)) || fail "the boot command after the start limit exited $RC, not 4 (rolled back)"
[[ $(installed) == 0.1.0-2 && ! -e $DATA/update/pending ]] || fail "after the boot command: installed $(installed)"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-3 && $why == *"interrupted at step installing"* ]] || fail "last update: $(last_update)"
kill -TERM "$(cat "$STATE/weftd.pid")"
timeout 20 tail --pid="$(cat "$STATE/weftd.pid")" -f /dev/null || fail "weftd did not stop"

note "h. a marker at committing beside a damaged state file: committed, the damaged file kept aside"
printf 'update=not a record\n' >>"$DATA/update/state"
cp "$DATA/update/state" "$TMP/damaged-state"
cat >"$DATA/update/pending" <<MARKER
format=1
step=committing
from_version=0.1.0-1
from_package=$DATA/update/packages/weft_0.1.0-1_amd64.deb
to_version=0.1.0-2
to_package=$DATA/update/packages/weft_0.1.0-2_amd64.deb
updater_pid=999999
started_unix_ms=1700000000000
install_cmd=$INSTALL
restart_cmd=$RESTART
version_cmd=cat $ROOT/version
socket=$SOCK
settle_s=2
start_timeout_s=30
MARKER
boot h-boot
((RC == 0)) || fail "the boot command, a marker at committing and a damaged state: exit $RC, not 0"
aside=$(find "$DATA/update" -name 'state.damaged.*' | head -n 1)
[[ -n $aside ]] && cmp -s "$aside" "$TMP/damaged-state" || fail "the damaged state file was not kept aside: $(ls "$DATA/update")"
grep -qF "the update state file is damaged ($DATA/update/state: " "$TMP/h-boot.out" && grep -qF "kept as $aside" "$TMP/h-boot.out" ||
  fail "the boot command did not say the state file was damaged and where it is kept"
grep -q '^previous_version=0.1.0-1$' "$DATA/update/state" || fail "the commit was not recorded: $(cat "$DATA/update/state")"

note "i. a power cut in the boot command's own rollback, then the next boot"
$RESTART >/dev/null || fail "weftd 0.1.0-2 did not start"
"${UPDATE[@]}" --settle 60 "$TMP/weft_0.1.0-4.deb" >"$TMP/i.out" 2>&1 &
updater=$!
wait_step settling
power_cut "$updater"
$RESTART >/dev/null || fail "weftd 0.1.0-4 did not start at boot"
touch "$ROOT/slow-install"
"${BOOT[@]}" >"$TMP/i-boot1.out" 2>&1 &
booter=$!
wait_step rolling-back
timeout 20 bash -c 'until compgen -G "$1/.install.*" >/dev/null; do sleep 0.05; done' _ "$ROOT" ||
  fail "the boot command's rollback never started its install"
power_cut "$booter"
rm "$ROOT/slow-install"
sed 's/^/    /' "$TMP/i-boot1.out"
[[ $(installed) == 0.1.0-4 ]] && grep -qx step=rolling-back "$DATA/update/pending" ||
  fail "after the cut mid-rollback: installed $(installed), marker $(grep step= "$DATA/update/pending")"
$RESTART >/dev/null || fail "weftd (half reinstalled) did not start at the next boot"
boot i-boot2
((RC == 4)) || fail "the next boot's command exited $RC, not 4 (rolled back)"
[[ $(installed) == 0.1.0-2 && ! -e $DATA/update/pending ]] || fail "after the next boot's command: installed $(installed)"
IFS='|' read -r result from to why <<<"$(last_update)"
[[ $result == "rolled back" && $to == 0.1.0-4 && $why == *"interrupted at step settling"*"the rollback was interrupted at step rolling-back"* ]] ||
  fail "last update: $(last_update)"
kill -TERM "$(cat "$STATE/weftd.pid")"
timeout 20 tail --pid="$(cat "$STATE/weftd.pid")" -f /dev/null || fail "weftd did not stop"

note "j. --lock-wait 1e10 beside a held lock: waits"
mkdir -p "$TMP/j/update"
printf 'format=1\nstep=settling\n' >"$TMP/j/update/pending"
start_bg holder bash -c 'exec 9>"$1" && flock 9 && exec sleep 60' _ "$TMP/j/update/lock"
timeout 10 bash -c 'until ! flock -n "$1" true; do sleep 0.05; done' _ "$TMP/j/update/lock" || fail "flock never took the lock"
RC=0
timeout 2 env WEFT_SOCKET="$SOCK" "$WEFTCTL" update --resume --if-pending --lock-wait 1e10 --data-dir "$TMP/j" \
  >"$TMP/j.out" 2>&1 || RC=$?
((RC == 124)) && grep -q "waiting up to" "$TMP/j.out" || fail "--lock-wait 1e10 beside a held lock: exit $RC, not still waiting"
stop holder
echo "PASS"

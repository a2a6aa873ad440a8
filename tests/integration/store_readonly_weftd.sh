#!/usr/bin/env bash
# An SD card that goes read-only under a running weftd, for real: the store
# lives on a loop-mounted ext4 image (errors=remount-ro) and the test
# triggers an ext4 error (/sys/fs/ext4/<dev>/trigger_fs_error), which the
# kernel answers exactly as for a failing card: the file system becomes
# read-only at once. Expected: one "giving up" error line (not one a
# second), record fails once and runs degraded, weftd keeps running
# (gather/upload unaffected, no exit 3), `store` says failed and STATUS=
# says "store not writable". Then the image is checked and mounted again:
# record reopens the store, recording goes on, and the readings dropped
# meanwhile are in the lost table. Needs root and loop devices: exits 77
# (ctest SKIP_RETURN_CODE) with a reason where they are missing.
# Usage: bash store_readonly_weftd.sh <weftd> <weftctl> <python3>
set -euo pipefail
WEFTD=$1
WEFTCTL=$2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
source "$HERE/upload_common.bash"
PY=$3
SQLITE=$(command -v sqlite3)
IMG="$TMP/card.img"
MNT="$TMP/card"
SOCK="$TMP/weftd.sock"

skip() {
  echo "SKIP: $*"
  exit 77
}
ro_cleanup() {
  local name
  for name in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$name]}"; done
  PID_OF=()
  local n
  for n in 1 2 3; do  # the checked image is stacked on the failed one
    mountpoint -q "$MNT" 2>/dev/null || break
    umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
  done
  cleanup
}
trap ro_cleanup EXIT

[[ $(id -u) == 0 ]] || skip "not root: cannot mount a loop image"
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null || skip "mkfs.ext4/e2fsck not installed"
mkdir -p "$MNT"
truncate -s 32M "$IMG"
mkfs.ext4 -q -F "$IMG"
mount -o loop,errors=remount-ro "$IMG" "$MNT" 2>"$TMP/mount.err" || skip "cannot loop-mount an image: $(cat "$TMP/mount.err")"
DEV=$(findmnt -n -o SOURCE "$MNT")
TRIGGER=/sys/fs/ext4/${DEV##*/}/trigger_fs_error
[[ -w $TRIGGER ]] || skip "$TRIGGER is not writable: cannot make the file system fail"

start_broker_and_collector
weftd_upload_config "$TMP/weftd.toml" "$PORT" "10ms"
sed -i "s|^path = .*|path = \"$MNT/readings.db\"\nerror_deadline = \"1s\"\nqueue_capacity = 300|" "$TMP/weftd.toml"
sed -i "s|^\[service.record\]|[service.record]\nreopen_period = \"500ms\"|" "$TMP/weftd.toml"
cat >>"$TMP/weftd.toml" <<TOML

[service.console]
socket = "$SOCK"
TOML

start_bg notify "$PY" "$HERE/../health/notify_listener.py" "$TMP/notify.sock" "$TMP/notify.out" 80
wait_fixed 5 "$TMP/notify.out" LISTENING
start_bg weftd env NOTIFY_SOCKET="$TMP/notify.sock" "$WEFTD" --config "$TMP/weftd.toml" --for 80s
wait_grep 20 "$TMP/weftd.log" "store: committed through seq [0-9]{3,}"

note "the file system fails and goes read-only"
# What was committed so far reaches the image first (syncfs: data and the
# ext4 journal). errors=remount-ro aborts the journal, so without this a
# loaded machine could lose the table itself (ext4 commits every 5 s) and
# the fsck'd copy below would hold no readings table.
sync -f "$MNT/readings.db"
echo 1 >"$TRIGGER"
findmnt -n -o OPTIONS "$MNT" | grep -qw ro || fail "the file system did not become read-only: $(findmnt -n -o OPTIONS "$MNT")"
wait_grep 15 "$TMP/weftd.log" "giving up on the file"
wait_grep 15 "$TMP/weftd.log" "recording continues in memory"
sleep 3  # degraded for a while: reopen attempts every 500 ms must stay quiet
gave_up=$(grep -c "\[store\] .*giving up on the file" "$TMP/weftd.log" || true)
((gave_up == 1)) || fail "expected one 'giving up' line, got $gave_up"
running weftd || fail "weftd exited on a read-only store"
if grep -q "exceed its restart intensity" "$TMP/weftd.log"; then fail "a service escalated"; fi
timeout 20 "$WEFTCTL" --socket "$SOCK" --timeout 10 --exec store >"$TMP/ctl.out" 2>&1 || fail "weftctl store: $(cat "$TMP/ctl.out")"
grep -qE "state: +failed" "$TMP/ctl.out" || fail "store does not say failed: $(cat "$TMP/ctl.out")"
wait_grep 10 "$TMP/notify.out" "^STATUS=.*; record: store not writable: "

note "the card is checked and mounted again"
# A copy of the image: the failed one stays attached (weftd's read
# connection still holds the old file) and would be mounted again as is.
# The checked copy is mounted ON the failed mount, not after unmounting
# it: in between, $MNT would be a plain writable directory of $TMP, and
# record's reopen (every 500 ms) would create a new readings.db there,
# log "writable again" before the remount and then write to a file the
# new mount hides. That was the flake under load (cp and e2fsck slower,
# the window wider): "writable again" not logged within 20 s of the
# remount. (Reproduced: a 2 s sleep after the old `umount -l` fails every
# run.) Now nothing but the failed or the checked file system is ever at
# $MNT, so the test needs no machine to itself.
cp "$IMG" "$IMG.checked"
e2fsck -fy "$IMG.checked" >"$TMP/fsck.out" 2>&1 || (($? <= 2)) || fail "e2fsck failed: $(cat "$TMP/fsck.out")"
lines_before=$(lines "$TMP/weftd.log")
mount -o loop,errors=remount-ro "$IMG.checked" "$MNT"
note "mounted again: $(findmnt -n -o SOURCE,OPTIONS "$MNT"); $("$SQLITE" "$MNT/readings.db" 'PRAGMA quick_check; SELECT max(seq) FROM readings' 2>&1 | tr '\n' ' ')"
wait_grep 20 "$TMP/weftd.log" "the store is writable again" "$lines_before"
wait_grep 20 "$TMP/weftd.log" "readings were dropped .*recorded as lost" "$lines_before"
deadline=$((SECONDS + 20))
until "$SQLITE" "$MNT/readings.db" "SELECT count(*) FROM lost WHERE why = 'dropped (queue full)'" 2>/dev/null | grep -qv '^0$'; do
  ((SECONDS < deadline)) || fail "no 'dropped (queue full)' gap after the reopen: $("$SQLITE" "$MNT/readings.db" 'SELECT * FROM lost' 2>&1)"
  sleep 0.2
done
top1=$("$SQLITE" "$MNT/readings.db" 'SELECT max(seq) FROM readings')
sleep 1
top2=$("$SQLITE" "$MNT/readings.db" 'SELECT max(seq) FROM readings')
((top2 > top1)) || fail "recording did not go on after the reopen ($top1 -> $top2)"
note "lost: $("$SQLITE" "$MNT/readings.db" "SELECT group_concat(first_seq || '..' || last_seq || ' ' || why, '; ') FROM lost")"
running weftd || fail "weftd exited"
stop weftd
note "ok"

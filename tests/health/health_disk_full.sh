#!/usr/bin/env bash
# A full data disk does not stop the box. The data dir is a 256 KiB tmpfs
# (mounted here; skipped, exit 77, where mounting is not allowed), filled to
# the last page, with a crash dump pending from a real crash. weftd starts,
# becomes ready and runs; it logs once that the crash report could not be
# written (the crash itself from memory) and once that its PID could not be
# written into the lock file, which still locks (a second weftd is refused).
# Once there is room, the next start writes the report and removes the dump.
# Two cases: a lock file left by an earlier run, and none at all (an empty
# file: writing the PID needs a new block).
# Usage: bash health_disk_full.sh <weft-health-box> <weftd> <python3>
set -euo pipefail
BOX=$1
WEFTD=$2
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/common.bash"
ulimit -c 0

MNT=$TMP/full
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MNT" 2>"$TMP/mount.err"; then
  echo "SKIP: cannot mount a tmpfs on $MNT ($(cat "$TMP/mount.err")): this test needs root (CAP_SYS_ADMIN)"
  exit 77
fi
unmount_then_cleanup() {
  local name
  for name in "${!PID_OF[@]}"; do stop_pid "${PID_OF[$name]}"; done
  PID_OF=()
  umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
  cleanup
}
trap unmount_then_cleanup EXIT

note "a real crash leaves a dump (on an ordinary disk)"
health_config "$TMP/seed.toml" "$TMP/seed"
code=0
timeout 30 "$BOX" --config "$TMP/seed.toml" --test sleeper --test crash=300ms >"$TMP/seed.log" 2>&1 || code=$?
[[ $code == 139 ]] || fail "--test crash exited $code, expected 139"
dumps=("$TMP"/seed/crash/*.dump)
[[ -f ${dumps[0]} ]] || fail "the crash left no dump in $TMP/seed/crash"
DUMP=${dumps[0]##*/}

health_config "$TMP/full.toml" "$MNT/data"

# fill_up: every page of the tmpfs taken (a one-byte write fails).
fill_up() {
  dd if=/dev/zero of="$MNT/filler" bs=4096 2>/dev/null || true
  if printf x 2>/dev/null >"$MNT/probe"; then fail "the tmpfs is not full"; fi
  rm -f "$MNT/probe"
}

# full_start CASE: weftd on the full disk with the dump pending.
full_start() {
  local name=$1
  start_bg "$name" "$WEFTD" --config "$TMP/full.toml" --for 60s
  wait_fixed 15 "$TMP/$name.log" "all 1 services ready"
  sleep 0.5  # heartbeat runs on
  running "$name" || fail "weftd on the full disk exited"
  [[ $(count_fixed "$TMP/$name.log" "previous run crashed: SIGSEGV (fault address 0x0) in service crash") == 1 ]] ||
    fail "the pending crash is not logged exactly once"
  [[ $(count_fixed "$TMP/$name.log" "not written: cannot write $MNT/data/crash/") == 1 ]] ||
    fail "the report that could not be written is not logged exactly once"
  grep -F "not written: " "$TMP/$name.log" | grep -qF "No space left on device; the dump $MNT/data/crash/$DUMP is kept" ||
    fail "the log does not say why the report was not written and that the dump is kept"
  [[ -f $MNT/data/crash/$DUMP ]] || fail "the dump was removed though its report was not written"
  [[ -z $(ls "$MNT/data/crash/"*.tmp 2>/dev/null) ]] || fail "a half-written report was left behind"
  code=0
  timeout 30 "$WEFTD" --config "$TMP/full.toml" --for 2s >"$TMP/second.log" 2>&1 || code=$?
  [[ $code == 5 ]] || fail "a second weftd on the full disk exited $code, expected 5 (the lock holds)"
  kill -TERM "${PID_OF[$name]}"
  wait_exit "$name" 15
  [[ $EXIT_STATUS == 0 ]] || fail "weftd on the full disk exited $EXIT_STATUS on SIGTERM"
  no_service_failure "$TMP/$name.log"
}

note "full disk, lock file left by an earlier run"
mkdir -p "$MNT/data/crash"
cp "$TMP/seed/crash/$DUMP" "$MNT/data/crash/"
echo 1 >"$MNT/data/weftd.lock"
fill_up
full_start stale_lock
[[ $(count_fixed "$TMP/stale_lock.log" "data dir lock: cannot write") == 0 ]] ||
  fail "the PID could not be written over an old one"

note "full disk, no lock file (writing the PID needs a block)"
rm -f "$MNT/data/weftd.lock" "$MNT/filler"
fill_up
full_start no_lock
[[ $(count_fixed "$TMP/no_lock.log" "data dir lock: cannot write our PID into $MNT/data/weftd.lock: No space left on device") == 1 ]] ||
  fail "the PID that could not be written is not logged exactly once"
grep -qF "is in use by another process" "$TMP/second.log" || fail "the second weftd does not say the dir is in use"

note "room again: the next start writes the report and removes the dump"
rm -f "$MNT/filler"
code=0
timeout 30 "$WEFTD" --config "$TMP/full.toml" --for 1s >"$TMP/room.log" 2>&1 || code=$?
[[ $code == 0 ]] || fail "the start with room exited $code"
[[ ! -e $MNT/data/crash/$DUMP ]] || fail "the dump is still pending once there is room"
report=$MNT/data/crash/${DUMP%.dump}.txt
grep -qx "service: crash" "$report" || fail "no report $report naming the service"
grep -F "previous run crashed" "$TMP/room.log"
if grep -qF "not written" "$TMP/room.log"; then fail "the start with room still could not write"; fi
note "what weftd on the full disk logged:"
head -n 8 "$TMP/no_lock.log"
echo "PASS health_disk_full"

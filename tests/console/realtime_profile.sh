#!/usr/bin/env bash
# The real-time profile ([realtime], issue 17) on a real weftd, read back
# from the kernel through /proc (not from weftd's own account):
#   1. applied: the loop thread (tid = pid) is SCHED_FIFO at the configured
#      priority on the configured CPU; every other thread, the store's
#      writer started later from the loop among them, is SCHED_OTHER on the
#      helper CPU; mlockall is in force (VmLck); /dev/cpu_dma_latency is
#      held open; `rt` says the same; a reload that changes [realtime] is
#      refused and the box keeps running; SIGTERM: exit 0.
#   2. CAP_SYS_NICE dropped and RLIMIT_RTPRIO 0: exit 6, the message names
#      the capability, the limit and LimitRTPRIO=.
#   3. CAP_IPC_LOCK dropped and RLIMIT_MEMLOCK 64 KiB: exit 6, the message
#      names LimitMEMLOCK=.
#   4. the same refusals with required = false: one warning each, and the
#      box runs with SCHED_OTHER.
#   5. a bad [realtime] key: --check-config exits 2 naming file:line.
# Needs root (or CAP_SYS_NICE), 2 CPUs, setpriv and prlimit: else 77.
# usage: realtime_profile.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2
# shellcheck source=common.bash
source "$(dirname "$0")/common.bash"

command -v setpriv >/dev/null && command -v prlimit >/dev/null || { echo "skipped: no setpriv/prlimit"; exit 77; }
chrt -f 10 true 2>/dev/null || { echo "skipped: SCHED_FIFO not allowed here"; exit 77; }
(($(nproc) >= 2)) || { echo "skipped: needs 2 CPUs"; exit 77; }
[[ -w /dev/cpu_dma_latency ]] || { echo "skipped: /dev/cpu_dma_latency not writable"; exit 77; }

mkdir -p "$TMP/data"
# rt_config FILE REALTIME_KEYS: heartbeat every 10 ms into record (so the
# store's writer thread starts, from the loop), the console, and [realtime].
rt_config() {
  cat >"$1" <<TOML
[weftd]
data_dir = "$TMP/data"

[store]
path = "$TMP/data/readings.db"
batch_age = "20ms"

[service.heartbeat]
period = "10ms"
prefix = "box"

[service.record]

[service.console]
socket = "$SOCK"

[realtime]
$2
TOML
}

# field N of /proc/PID/task/TID/stat, counted as proc(5) does (after comm).
stat_field() {
  local stat
  stat=$(cat "/proc/$1/task/$2/stat") || fail "no thread $2 in weftd $1"
  stat=${stat##*) }
  local fields
  read -r -a fields <<<"$stat"
  echo "${fields[$(($3 - 3))]}"
}
cpus_of() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$1/task/$2/status"; }

# wait_thread PID NAME: until a thread of PID has that name (10 s).
wait_thread() {
  local i tid
  for ((i = 0; i < 200; i++)); do
    for tid in /proc/"$1"/task/*; do
      [[ $(cat "$tid/comm" 2>/dev/null) == "$2" ]] && return 0
    done
    sleep 0.05
  done
  fail "weftd $1 has no thread named $2 after 10 s"
}

note "1. applied: fifo 50 on CPU 0, helpers on CPU 1, memory locked, cpu_dma_latency held"
rt_config "$TMP/rt.toml" 'lock_memory = true
policy = "fifo"
priority = 50
cpus = "0"
helper_cpus = "1"
cpu_dma_latency = true'
start_weftd box "$TMP/rt.toml"
pid=${PID_OF[box]}
wait_thread "$pid" weft-store-w
[[ $(stat_field "$pid" "$pid" 41) == 1 ]] || fail "loop thread policy $(stat_field "$pid" "$pid" 41), expected 1 (SCHED_FIFO)"
[[ $(stat_field "$pid" "$pid" 40) == 50 ]] || fail "loop thread rt_priority $(stat_field "$pid" "$pid" 40), expected 50"
[[ $(cpus_of "$pid" "$pid") == 0 ]] || fail "loop thread on CPUs $(cpus_of "$pid" "$pid"), expected 0"
helpers=0
for dir in /proc/"$pid"/task/*; do
  tid=${dir##*/}
  [[ $tid == "$pid" ]] && continue
  name=$(cat "$dir/comm")
  [[ $(stat_field "$pid" "$tid" 41) == 0 ]] || fail "thread $tid ($name) policy $(stat_field "$pid" "$tid" 41), expected 0 (SCHED_OTHER)"
  [[ $(cpus_of "$pid" "$tid") == 1 ]] || fail "thread $tid ($name) on CPUs $(cpus_of "$pid" "$tid"), expected 1"
  helpers=$((helpers + 1))
done
((helpers >= 4)) || fail "only $helpers helper threads (pool, log, stall monitor, store writer expected)"
note "loop: SCHED_FIFO 50 on CPU 0; $helpers helper threads SCHED_OTHER on CPU 1"
locked=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
# ASan's runtime replaces mlockall with a no-op (its shadow memory could
# never be locked), so a sanitized weftd shows 0 kB: only that check is off.
if asan_build "$WEFTD"; then
  note "VmLck not checked: an ASan build's mlockall is the runtime's no-op"
else
  ((locked > 0)) || fail "VmLck is ${locked:-missing} kB: mlockall is not in force"
fi
note "VmLck $locked kB, VmRSS $(sed -n 's/^VmRSS:[[:space:]]*//p' "/proc/$pid/status")"
found=0
for fd in /proc/"$pid"/fd/*; do [[ $(readlink "$fd") == /dev/cpu_dma_latency ]] && found=1; done
((found)) || fail "weftd holds no descriptor of /dev/cpu_dma_latency"
expect_status 0 ctl --exec rt
expect_out "real-time profile: applied (required = true)"
expect_out "loop thread: policy fifo priority 50, cpus 0"
expect_out "lock_memory: locked"
expect_out "cpu_dma_latency: held at 0 us"
expect_out "$pid weftd (loop) SCHED_FIFO 50 0"
expect_out "weft-store-w SCHED_OTHER 0 1"
sleep 2.2  # two clock checks: the per-second fault counts are shown
expect_status 0 ctl --exec rt
[[ $OUT =~ loop\ thread\ page\ faults\ since\ the\ loop\ started:\ ([0-9]+)\ minor,\ ([0-9]+)\ major\;\ per\ 1\.000\ s,\ newest\ first:\ ([0-9]+)\ ([0-9]+) ]] ||
  fail "no page-fault line with two periods in: $OUT"
note "loop page faults: ${BASH_REMATCH[1]} minor, ${BASH_REMATCH[2]} major since start; last periods ${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
sed -i 's/^priority = 50/priority = 60/' "$TMP/rt.toml"
expect_status 1 ctl reload
expect_out "the real-time profile is applied once, before any service starts"
expect_out "rt.toml:"
[[ $(stat_field "$pid" "$pid" 40) == 50 ]] || fail "the refused reload changed the loop's priority"
stop box
wait "$pid" 2>/dev/null || true

note "2. no CAP_SYS_NICE, RLIMIT_RTPRIO 0: exit 6 naming what grants it"
rt_config "$TMP/fifo.toml" 'policy = "fifo"
priority = 50'
expect_status 6 prlimit --rtprio=0 setpriv --bounding-set=-sys_nice --inh-caps=-sys_nice "$WEFTD" --config "$TMP/fifo.toml"
expect_out "[realtime] policy = \"fifo\", priority = 50"
expect_out "CAP_SYS_NICE"
expect_out "RLIMIT_RTPRIO >= 50 (it is 0)"
expect_out "LimitRTPRIO=50"
[[ ! -S $SOCK ]] || fail "the refused weftd left its console socket"

if asan_build "$WEFTD"; then
  # ASan intercepts mlockall as a no-op that succeeds: nothing to refuse.
  note "3. skipped: an ASan build's mlockall cannot fail"
else
  note "3. no CAP_IPC_LOCK, RLIMIT_MEMLOCK 64 KiB: exit 6 naming LimitMEMLOCK="
  rt_config "$TMP/lock.toml" 'lock_memory = true'
  expect_status 6 prlimit --memlock=65536 setpriv --bounding-set=-ipc_lock --inh-caps=-ipc_lock "$WEFTD" --config "$TMP/lock.toml"
  expect_out "[realtime] lock_memory: mlockall failed"
  expect_out "RLIMIT_MEMLOCK is 65536 bytes"
  expect_out "LimitMEMLOCK=infinity"
fi

note "4. required = false: a warning each, and it runs without them"
rt_config "$TMP/soft.toml" 'lock_memory = true
policy = "fifo"
priority = 50
required = false'
start_bg soft prlimit --rtprio=0 --memlock=65536 setpriv --bounding-set=-sys_nice,-ipc_lock \
  --inh-caps=-sys_nice,-ipc_lock "$WEFTD" --config "$TMP/soft.toml"
for ((i = 0; i < 200; i++)); do
  ctl --exec "read box.uptime_s" >/dev/null 2>&1 && break
  running soft || fail "weftd (soft) exited: $(cat "$TMP/soft.log")"
  sleep 0.05
done
pid=${PID_OF[soft]}  # prlimit and setpriv exec: the same process
[[ $(stat_field "$pid" "$pid" 41) == 0 ]] || fail "loop thread policy $(stat_field "$pid" "$pid" 41) without the permission"
if ! asan_build "$WEFTD"; then
  [[ $(grep -c "mlockall failed.*required = false: weftd goes on without it" "$TMP/soft.log") == 1 ]] ||
    fail "expected one lock_memory warning in: $(cat "$TMP/soft.log")"
fi
[[ $(grep -c "CAP_SYS_NICE.*required = false: weftd goes on without it" "$TMP/soft.log") == 1 ]] ||
  fail "expected one policy warning in: $(cat "$TMP/soft.log")"
expect_status 0 ctl --exec rt
expect_out "real-time profile: applied in part (required = false)"
expect_out "priority 50 (refused)"
asan_build "$WEFTD" || expect_out "lock_memory: refused"
stop soft

note "5. a bad key: --check-config names file:line"
rt_config "$TMP/bad.toml" 'policy = "deadline"'
expect_status 2 "$WEFTD" --check-config "$TMP/bad.toml"
expect_out "bad.toml:"
expect_out "unknown policy 'deadline'"
rt_config "$TMP/bad.toml" 'cpus = "1-0"'
expect_status 2 "$WEFTD" --check-config "$TMP/bad.toml"
expect_out "is not a CPU list"
echo "ok: real-time profile applied, read back from /proc, refused with exit 6, softened by required = false"

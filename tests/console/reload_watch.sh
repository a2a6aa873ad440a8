#!/usr/bin/env bash
# [weftd] watch_config = true on a real weftd whose config file shares its
# directory with the data dir (the config history is written next to it):
# each kind of write triggers exactly ONE reload (counted in the log and in
# `config history`), and never one of its own:
#   vim (real vim when installed: backup by rename, swap file, new file),
#   write a temp file and rename it over (sed -i, config management),
#   a write in place (`cat > file`), a burst of 5 quick writes (one reload,
#   the last content applied), a broken file (refused, the old config runs,
#   `services` says the file differs), the running bytes written back
#   after it (a reload: the note goes) and once more (no reload at all),
#   watch_config = false by a reload (the watch stops; later writes trigger
#   nothing), and on again by SIGHUP (it watches again).
# Usage: reload_watch.sh WEFTD WEFTCTL PYTHON
WEFTD=$1 WEFTCTL=$2 PY=${3:-/usr/bin/python3}
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/reload_watch_common.bash"

CFG=$TMP/cfg
CONF=$CFG/box.toml
mkdir -p "$CFG"
watch_conf "$CONF" 100ms true "$CFG"
start_weftd box "$CONF"
wait_fixed 10 "$TMP/box.log" "config watch: watching $CONF"
gen0=$(generation heartbeat)

running_period() { ctl --exec config | sed -n '/^\[service.heartbeat\]/,/^\[/s/^period = "\(.*\)"$/\1/p'; }

if command -v vim >/dev/null; then
  note "vim edits the file (backup by rename, a new file written, swap file in the directory)"
  vim -u NONE -i NONE -N -es -c '%s/^period = "100ms"/period = "150ms"/' -c 'wq' "$CONF" </dev/null
else
  note "no vim here: its way of writing, by hand (the file renamed to a backup, a new one written)"
  cp "$CONF" "$TMP/vim.tmp"
  mv "$CONF" "$CONF~"
  sed 's/^period = "100ms"/period = "150ms"/' "$TMP/vim.tmp" >"$CONF"
  rm -f "$CONF~"
fi
settle_watch 1
[[ $LAST == *"applied"*"restart heartbeat"* ]] || fail "the vim write did not restart heartbeat: $LAST"
[[ $(running_period) == 150ms ]] || fail "heartbeat's running period is $(running_period), not 150ms"

note "a temp file written and renamed over the config (sed -i)"
sed -i 's/^period = "150ms"/period = "200ms"/' "$CONF"
settle_watch 2
[[ $LAST == *"applied"* && $(running_period) == 200ms ]] || fail "the rename was not applied: $LAST"

note "a write in place (cat > file)"
watch_conf "$TMP/next.toml" 250ms true "$CFG"
cat "$TMP/next.toml" >"$CONF"
settle_watch 3
[[ $LAST == *"applied"* && $(running_period) == 250ms ]] || fail "the write in place was not applied: $LAST"

note "a burst of 5 writes 50 ms apart: one reload, of the last"
# Composed first, so that the writes themselves are 50 ms apart (well
# inside the 500 ms debounce) even when composing is slow under load.
for p in 300 310 320 330 340; do
  watch_conf "$TMP/burst-$p.toml" "${p}ms" true "$CFG"
done
for p in 300 310 320 330 340; do
  cat "$TMP/burst-$p.toml" >"$CONF"
  sleep 0.05
done
settle_watch 4
[[ $LAST == *"applied"* && $(running_period) == 340ms ]] || fail "the burst's last write was not what applied ($(running_period)): $LAST"
gen_good=$(generation heartbeat)
((gen_good > gen0)) || fail "heartbeat did not restart on the watched changes ($gen0 -> $gen_good)"
cp "$CONF" "$TMP/good.toml"

note "a broken file: refused, the old config keeps running"
BAD=$(grep -n '^prefix = "box"$' "$CONF" | cut -d: -f1)
sed "${BAD}s/.*/prefix = box/" "$TMP/good.toml" >"$CONF"
settle_watch 5
[[ $LAST == *"refused"*"$CONF:$BAD"* ]] || fail "the broken file was not refused with $CONF:$BAD: $LAST"
running box || fail "weftd exited on a broken file"
[[ $(generation heartbeat) == "$gen_good" ]] || fail "heartbeat ran again on a refused reload"
v1=$(ctl --json --exec "read box.uptime_s" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mono_ns"])')
sleep 0.5
v2=$(ctl --json --exec "read box.uptime_s" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mono_ns"])')
((v2 > v1)) || fail "box.uptime_s did not update after the refused reload ($v1, $v2)"
expect_status 0 ctl --exec services
expect_out "the config file differs from the running config"

note "the running bytes written back: a reload (unchanged), and the note goes"
cat "$TMP/good.toml" >"$CONF"
settle_watch 6
[[ $LAST == *"unchanged"* ]] || fail "writing the running config back was not an unchanged reload: $LAST"
expect_status 0 ctl --exec services
[[ $OUT != *"differs"* ]] || fail "services still says the file differs: $OUT"

note "the same bytes once more: nothing to reload"
logged=$(lines "$TMP/box.log")
cat "$TMP/good.toml" >"$CONF"
wait_fixed 5 "$TMP/box.log" "holds the running config's bytes: nothing to reload" "$logged"
settle_watch 6

note "watch_config = false by a reload: the watch stops, later writes trigger nothing"
watch_conf "$CONF" 340ms false "$CFG"
settle_watch 7
[[ $LAST == *"applied"*"live weftd.watch_config"* ]] || fail "watch_config = false was not applied live: $LAST"
[[ $LAST != *"restart"* ]] || fail "switching the watch off restarted a service: $LAST"
wait_fixed 5 "$TMP/box.log" "config watch: stopped watching $CONF (watch_config = false)"
logged=$(lines "$TMP/box.log")
watch_conf "$CONF" 400ms false "$CFG"
sed -i 's/^period = "400ms"/period = "410ms"/' "$CONF"
settle_watch 7
[[ -z $(tail -n +"$((logged + 1))" "$TMP/box.log" | grep -F "config watch:") ]] || fail "the stopped watch still saw writes"
[[ $(running_period) == 340ms ]] || fail "a write with the watch off was applied ($(running_period))"

note "watch_config = true again by SIGHUP: it watches again"
watch_conf "$CONF" 400ms true "$CFG"
logged=$(lines "$TMP/box.log")
kill -HUP "${PID_OF[box]}"
wait_grep 10 "$TMP/box.log" "reload [0-9]+ \(signal, .*applied" "$logged"
wait_fixed 5 "$TMP/box.log" "config watch: watching $CONF" "$logged"
[[ $(running_period) == 400ms ]] || fail "the SIGHUP reload did not apply 400ms"
watch_conf "$CONF" 450ms true "$CFG"
settle_watch 8
[[ $LAST == *"applied"* && $(running_period) == 450ms ]] || fail "the watch did not apply 450ms after it was switched on again: $LAST"

note "config history: the 8 watch reloads, and nothing else but the SIGHUP"
expect_status 0 ctl --exec "config history"
history=$(grep -E '^#[0-9]+ ' <<<"$OUT")
note "$(tr '\n' '|' <<<"$history")"
[[ $(grep -cE '^#[0-9]+ +[^ ]+ +watch ' <<<"$history") == 8 ]] || fail "config history does not hold exactly 8 watch reloads: $OUT"
[[ $(wc -l <<<"$history") == 9 ]] || fail "config history holds other reloads than the 8 watched and 1 SIGHUP: $OUT"
no_service_failure "$TMP/box.log"
stop box
echo "ok"

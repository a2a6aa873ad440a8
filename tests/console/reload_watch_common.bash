# shellcheck shell=bash disable=SC2034
# Shared by the config-watch tests (sourced after console/common.bash): a
# box config ([weftd] watch_config, heartbeat, tap, console) written whole
# to any file, and counts of the reloads the watch triggered, read from
# weftd's log ("reload N (watch, FILE): RESULT ...").

# watch_conf FILE HEARTBEAT_PERIOD [WATCH] [DATA_DIR] [EXTRA_HEARTBEAT_KEYS]:
# the whole config, written to FILE by one open and one write (a write in
# place when FILE is the running config). Composed in a scratch file first:
# written piecewise (printf, then cat), a reload could read the file
# between the pieces, half-written, on a loaded machine.
watch_conf() {
  local file=$1 period=$2 watch=${3:-true} data=${4:-$TMP/data}
  mkdir -p "$data"
  box_config "$TMP/part.toml" "" "$period"
  {
    printf '[weftd]\ndata_dir = "%s"\nwatch_config = %s\nreload_settle = "200ms"\nstop_grace = "2s"\n\n' "$data" "$watch"
    cat "$TMP/part.toml"
  } >"$TMP/whole.toml"
  cat "$TMP/whole.toml" >"$file"
}

# watch_reloads: how many reloads the watch triggered so far (their outcome lines).
watch_reloads() { grep -cE "reload [0-9]+ \(watch, " "$TMP/box.log" || true; }

# settle_watch N: waits (10 s at most) for the N-th watch-triggered reload,
# then 1.5 s more (three debounces, and the history writes in the config's
# directory): there must still be exactly N. The N-th outcome line in $LAST.
settle_watch() {
  local want=$1 i got
  for ((i = 0; i < 200; i++)); do
    (($(watch_reloads) >= want)) && break
    sleep 0.05
  done
  (($(watch_reloads) >= want)) || fail "the watch triggered $(watch_reloads) reloads within 10 s, expected $want: $(grep -F "[weft]" "$TMP/box.log" | tail -8)"
  sleep 1.5
  got=$(watch_reloads)
  [[ $got == "$want" ]] || fail "the watch triggered $got reloads, expected exactly $want: $(grep -E "reload [0-9]+ \(" "$TMP/box.log")"
  LAST=$(grep -E "reload [0-9]+ \(watch, " "$TMP/box.log" | tail -1)
  note "$LAST"
}

# generation NAME: the service's run count ("runs:" of `service NAME`).
generation() {
  ctl --exec "service $1" | sed -n 's/^runs: *\([0-9]*\) .*/\1/p'
}

#!/usr/bin/env bash
# libmosquitto is loaded on demand: weftd does not link it, a box with no
# MQTT never maps it nor OpenSSL (libssl, libcrypto), and the first connect
# of [service.upload] loads it (here to a port nobody listens on: the
# attempt fails as 'Connection refused', which only the library can say).
# A library that is not libmosquitto (or none) is an error that names it, and
# is tried again at each attempt: installed later, it is loaded without a
# restart. Bounded: about 3 s.
# Usage: bash mqtt_on_demand.sh <weftd>
set -euo pipefail
WEFTD=$1
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
source "$(dirname "${BASH_SOURCE[0]}")/upload_common.bash"

mapped() { grep -oE '/[^ ]*lib(mosquitto|ssl|crypto)\.so[^ ]*' "/proc/$1/maps" | sort -u | tr '\n' ' ' || true; }

note "weftd is not linked against libmosquitto"
needed=$(ldd "$WEFTD")
! grep -qE 'libmosquitto|libssl|libcrypto' <<<"$needed" || fail "weftd links MQTT/TLS libraries: $(grep -E 'mosquitto|ssl|crypto' <<<"$needed")"

base_config() {
  cat >"$1" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[store]
path = "$TMP/readings.db"

[service.heartbeat]
period = "20ms"
prefix = "box"

[service.record]
prefix = "weft.store"
TOML
}

note "a box with no MQTT: all services ready, libmosquitto and OpenSSL not mapped"
base_config "$TMP/plain.toml"
start_bg plain "$WEFTD" --config "$TMP/plain.toml" --for 30s
wait_fixed 10 "$TMP/plain.log" "[weft] all 2 services ready"
libs=$(mapped "${PID_OF[plain]}")
[[ -z $libs ]] || fail "a box without MQTT maps $libs"
stop plain

note "with [service.upload], its first connect loads the library"
PORT=$(free_port)
base_config "$TMP/upload.toml"
cat >>"$TMP/upload.toml" <<TOML

[service.upload]
url = "mqtt://127.0.0.1:$PORT"
device = "testbox"
topic = "weft/{device}/readings"
connect_timeout = "2s"
min_backoff = "100ms"
max_backoff = "400ms"
TOML
start_bg upload "$WEFTD" --config "$TMP/upload.toml" --for 30s
wait_fixed 10 "$TMP/upload.log" "cannot connect to broker mqtt://127.0.0.1:$PORT: Connection refused"
libs=$(mapped "${PID_OF[upload]}")
grep -q 'libmosquitto\.so' <<<"$libs" || fail "upload connected without libmosquitto mapped: '$libs'"
stop upload
no_service_failure "$TMP/upload.log"

note "a libmosquitto.so.1 that is not libmosquitto: upload says so, and loads the real one once it is installed"
# LD_LIBRARY_PATH is searched before the system's directories: the stand-in
# is found first, then replaced (as apt-get would) while weftd runs on.
mkdir -p "$TMP/lib"
echo 'int weft_not_mosquitto;' | cc -shared -x c - -o "$TMP/lib/libmosquitto.so.1" -Wl,-soname,libmosquitto.so.1
REAL=$(ldconfig -p | awk '$1 == "libmosquitto.so.1" { print $NF; exit }')
[[ -n $REAL ]] || fail "ldconfig -p lists no libmosquitto.so.1"
LD_LIBRARY_PATH="$TMP/lib" start_bg swap "$WEFTD" --config "$TMP/upload.toml" --for 30s
wait_fixed 10 "$TMP/swap.log" "libmosquitto.so.1 lacks mosquitto_lib_init"
grep -F "libmosquitto.so.1 lacks mosquitto_lib_init" "$TMP/swap.log" | grep -qF " error [upload] " ||
  fail "a missing libmosquitto is not logged as an error: $(grep -F 'lacks mosquitto_lib_init' "$TMP/swap.log" | head -1)"
ln -sf "$REAL" "$TMP/lib/libmosquitto.so.1.new"
mv -f "$TMP/lib/libmosquitto.so.1.new" "$TMP/lib/libmosquitto.so.1"
from=$(wc -l <"$TMP/swap.log")
wait_fixed 10 "$TMP/swap.log" "cannot connect to broker mqtt://127.0.0.1:$PORT: Connection refused" "$from"
stop swap
no_service_failure "$TMP/swap.log"
echo "PASS mqtt_on_demand"

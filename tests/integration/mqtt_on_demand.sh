#!/usr/bin/env bash
# libmosquitto is loaded on demand: weftd does not link it, a box with no
# MQTT never maps it nor OpenSSL (libssl, libcrypto), and the first connect
# of [service.upload] loads it (here to a port nobody listens on: the
# attempt fails as 'Connection refused', which only the library can say).
# Bounded: about 2 s.
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
echo "PASS mqtt_on_demand"

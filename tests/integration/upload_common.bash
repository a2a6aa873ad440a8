# shellcheck shell=bash disable=SC2034  # sourced after common.bash by the upload_*.sh scripts
# Shared by the upload integration tests: a mosquitto broker on a free
# loopback port (started and restarted on the same port), a collecting
# mosquitto_sub with a persistent session (so messages published while it
# reconnects after a broker restart are queued for it, not lost), a weftd
# config with heartbeat (the load) + record + upload, and the Python checker.

UPLOAD_CHECK=$(dirname "${BASH_SOURCE[0]}")/upload_check.py
PY=/usr/bin/python3
chmod 755 "$TMP"  # mosquitto started as root drops to its own user: it must read here

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# broker_config PORT [EXTRA]: $TMP/mosquitto.conf; persistence in $TMP so a
# restart keeps the collector's session and its queued messages.
broker_config() {
  mkdir -p "$TMP/broker"
  chmod 777 "$TMP/broker"
  cat >"$TMP/mosquitto.conf" <<CONF
listener $1 127.0.0.1
persistence true
persistence_location $TMP/broker/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 10
${2:-allow_anonymous true}
CONF
}

# start_broker NAME: mosquitto on $TMP/mosquitto.conf, waited for.
start_broker() {
  start_bg "$1" /usr/sbin/mosquitto -v -c "$TMP/mosquitto.conf"
  wait_fixed 5 "$TMP/$1.log" "running"
}

# start_collector PORT: mosquitto_sub (QoS 1, persistent session
# "collector") writing "topic payload" lines, line-buffered, to $COLLECTED
# (not a *.log: fail() would print its huge last lines).
COLLECTED=$TMP/collected.mqtt
start_collector() {
  stdbuf -oL /usr/bin/mosquitto_sub -h 127.0.0.1 -p "$1" -t 'weft/#' -q 1 -v -c -i collector \
    >"$COLLECTED" 2>"$TMP/collector.err" &
  PID_OF[collector]=$!
}

# Sets PORT: a broker on a free port with the collector subscribed to it.
start_broker_and_collector() {
  PORT=$(free_port)
  broker_config "$PORT"
  start_broker broker
  start_collector "$PORT"
  wait_fixed 5 "$TMP/broker.log" "Received SUBSCRIBE from collector"
}

# weftd_upload_config FILE PORT HEARTBEAT_PERIOD [UPLOAD_EXTRA]
weftd_upload_config() {
  cat >"$1" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"

[store]
path = "$TMP/readings.db"
batch_rows = 200
batch_age = "50ms"

[service.heartbeat]
period = "$3"
prefix = "box"

[service.record]
report_period = "50ms"
prefix = "weft.store"

[service.upload]
url = "mqtt://127.0.0.1:$2"
device = "testbox"
topic = "weft/{device}/readings"
batch_rows = 100
max_in_flight = 4
backlog_rate = 20000
live_period = "50ms"
keepalive = "5s"
connect_timeout = "2s"
min_backoff = "100ms"
max_backoff = "400ms"
${4:-}
TOML
}

# start_result_sub: a mosquitto_sub on weft/testbox/config/result (QoS 1),
# its lines in $RESULTS, subscribed (in the broker's log) before it returns.
start_result_sub() {
  RESULTS=$TMP/results.out
  stdbuf -oL /usr/bin/mosquitto_sub -h 127.0.0.1 -p "$PORT" -t 'weft/testbox/config/result' -q 1 >"$RESULTS" \
    2>"$TMP/results.err" &
  PID_OF[results]=$!
  wait_grep 5 "$TMP/broker.log" "Received SUBSCRIBE from auto-"
}

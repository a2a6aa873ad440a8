# shellcheck shell=bash
# Shared by the health scripts (sourced): the integration helpers (temp dir,
# background processes stopped by PID, bounded waits) plus a config writer.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/common.bash"

# health_config FILE DATA_DIR [EXTRA_WEFTD_KEYS]: heartbeat only, with the
# [weftd] health keys; small thresholds keep the tests short.
health_config() {
  cat >"$1" <<TOML
[weftd]
log_level = "info"
stop_grace = "2s"
data_dir = "$2"
stall_threshold = "50ms"
hang_threshold = "1s"
${3:-}

[service.heartbeat]
period = "100ms"
TOML
}

// The health gate of weftctl update: after the restart step, the weftd on
// the console socket must be a new process (not `old_pid`) running the
// package's binary (its ELF build id, when the package's weftd has one),
// with every service ready (the condition under which weftd sends
// READY=1) within `start_timeout_s`; then, for `settle_s`, stay the same
// process, with every service ready, no service restarted (counted since
// that process started) and no loop stall (counted from READY). Asked
// over the console every 250 ms (--json version, services, loop); every
// request is bounded. Blocking: weftctl's own process.
#pragma once

#include <string>

namespace weftctl {

struct RunningWeftd {
  int pid = -1;
  std::string version, build_id, config, data_dir;
  int store_schema = 0;
  double update_settle_s = -1;  // -1: not reported
};

// One `--json version` on `socket`; "" ok, else why not (ConnectError's text).
std::string ask_version(const std::string& socket, RunningWeftd& out, double timeout_s = 10);

struct HealthGate {
  std::string socket;
  int old_pid = -1;           // the weftd before the restart (-1: none answered)
  std::string build_id;       // expected; "" skips the check
  double start_timeout_s = 150;
  double settle_s = 60;
};

struct HealthResult {
  bool healthy = false;
  std::string why;            // not healthy: what was seen, for people and the record
  RunningWeftd weftd;         // the process that was checked
  double up_s = 0;            // restart step's end to every service ready
  std::size_t services = 0;
};

HealthResult wait_healthy(const HealthGate& gate);

}  // namespace weftctl

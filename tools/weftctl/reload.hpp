// `weftctl reload`: asks weftd to apply its config file now (the console's
// `reload`) and waits for the outcome, so a caller (systemd's ExecReload,
// a script) knows whether it applied. Exit status: 0 the reply is ok
// (applied, or nothing to change), 1 it is not (refused, rolled back: the
// reply says why), 3 no answer: weftd not running, access refused, the
// connection lost, or no reply within the timeout (the reload may still be
// running: `config history` shows how it ended). `--dry-run`: the plan only.
#pragma once

#include <string>

namespace weftctl {

struct ReloadRequest {
  std::string socket;
  bool json = false;
  bool dry_run = false;
  double timeout_s = 120;  // a reload waits for the services it restarts to be ready and settle
};

// Connects, sends the request, prints the reply (stdout when ok or JSON,
// else stderr) or what went wrong (stderr), returns the exit status.
int reload(const ReloadRequest& request);

}  // namespace weftctl

// `weftctl reload`: asks weftd to apply its config file now and waits for
// the outcome, so a caller (systemd's ExecReload, a script) knows whether
// it applied, also when the reload restarts the console and drops the
// connection (weftctl then reconnects and asks for that reload's outcome
// by its id: reload.cpp). Exit status: 0 applied (or nothing to change),
// 1 refused or rolled back (the reply says why), 3 no outcome: weftd not
// running, access refused, weftd exited before the outcome reached
// weftctl, or none within the timeout (the reload may still be running:
// `config history` shows how it ended). `--dry-run`: the plan only.
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

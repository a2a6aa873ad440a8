// `weftctl reload` (reload.hpp): one request on a fresh connection, the
// reply's ok turned into the exit status, every way of getting no answer
// into kExitNoConsole with what happened and what to do.
#include "reload.hpp"

#include <cstdio>

#include "client.hpp"
#include "repl.hpp"

namespace weftctl {

int reload(const ReloadRequest& request) {
  const std::string what = request.dry_run ? "reload --dry-run" : "reload";
  Client client;
  try {
    client.connect(request.socket);
  } catch (const ConnectError& e) {
    std::fprintf(stderr, "weftctl %s: %s; nothing was reloaded\n", what.c_str(), e.message.c_str());
    return kExitNoConsole;
  }
  try {
    Session session{client, request.json, request.timeout_s};
    return run_one(session, what);
  } catch (const ConnectError& e) {
    if (e.message.starts_with("no answer")) {
      std::fprintf(stderr,
                   "weftctl %s: %s (--timeout); the reload may still be running: its outcome is in the log and in "
                   "`weftctl --exec 'config history'`\n",
                   what.c_str(), e.message.c_str());
    } else {
      std::fprintf(stderr, "weftctl %s: %s before its reply; whether the reload applied is in the log and in "
                           "`weftctl --exec 'config history'`\n",
                   what.c_str(), e.message.c_str());
    }
    return kExitNoConsole;
  }
}

}  // namespace weftctl

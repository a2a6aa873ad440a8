// weftctl's interactive loop: libedit line editing, a history file
// (~/.weftctl_history) and tab completion of command, service and point
// names, asked of weftd with the console's `complete` command.
#pragma once

#include <string>

#include "client.hpp"

namespace weftctl {

struct Session {
  Client& client;
  bool json = false;
  double timeout_s = 0;
};

// Runs one request and prints its reply (stdout; a failure's text on
// stderr unless JSON). Returns kExitOk or kExitFailed. Throws ConnectError.
int run_one(Session& s, const std::string& line);

// Interactive loop on a terminal; returns when the user leaves (Ctrl-D, quit).
int repl(Session& s);
// Non-interactive: one request per line of stdin; returns kExitFailed if any failed.
int run_lines(Session& s);

}  // namespace weftctl

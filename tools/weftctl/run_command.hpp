// Running the updater's configurable steps (install, restart, the
// installed-version query) and its package tools (dpkg-deb, dpkg) as child
// processes: stdin /dev/null, stdout and stderr to a log file or captured,
// each bounded by a timeout after which its whole process group is killed.
// Blocking: weftctl is a separate process with one job.
#pragma once

#include <string>
#include <vector>

namespace weftctl {

struct CommandResult {
  int status = -1;        // exit status; -1 with `error` set when it did not exit normally
  std::string output;     // stdout and stderr (captured, or the log file's last 4 KiB)
  std::string error;      // "killed after 300 s (timeout)", "killed by signal 9", "cannot run: ..."
  double took_s = 0;
  bool ok() const noexcept { return status == 0 && error.empty(); }
  // "exit 1: <last line of output>" / the error; for one-line reasons.
  std::string summary() const;
};

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  double timeout_s = 60;
  std::string log;                // non-empty: output appended there (and its tail returned) instead of captured
  int keep_fd = -1;               // a descriptor the child keeps (the updater's lock: see update.cpp)
};

CommandResult run_command(const CommandSpec& spec);

// `sh -c COMMAND sh ARGS...`: a configured step ("dpkg -i" gets the
// package path as "$1" appended: COMMAND "$@").
CommandSpec shell_step(const std::string& command, const std::vector<std::string>& args);

// "'it'\''s'": a word the shell reads back as `word`.
std::string shell_quote(const std::string& word);

}  // namespace weftctl

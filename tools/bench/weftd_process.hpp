// A real weftd run by a benchmark: the built binary as a child process on a
// generated config, its log in a file, stopped with SIGTERM (SIGKILL after
// 20 s) by stop() or the destructor; and waiting, bounded, until its console
// says every service is ready. Used by `reload`, `ca` and `start`.
#pragma once

#include <cstddef>
#include <string>
#include <sys/types.h>

namespace weft::bench {

class ConsoleClient;

// weftd as a child process, its stdout and stderr into `log`. stop() sends
// SIGTERM and waits (SIGKILL after 20 s); the destructor stops it too. It
// never sees our NOTIFY_SOCKET (a real systemd must not hear of it) but
// `notify_socket` when one is given (`start` listens there for READY=1).
class WeftdProcess {
public:
  WeftdProcess(const std::string& weftd, const std::string& config, const std::string& log,
               const std::string& notify_socket = {});
  ~WeftdProcess() { stop(); }
  WeftdProcess(const WeftdProcess&) = delete;
  WeftdProcess& operator=(const WeftdProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  int exit_status() const noexcept { return exit_status_; }
  // Returns weftd's exit status (128 + signal when killed).
  int stop() noexcept;

private:
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

// Waits (30 s at most) until `services` services report ready in the
// console's `--json services`; throws naming what it last saw, or that weftd
// exited.
void wait_all_ready(ConsoleClient& console, WeftdProcess& weftd, std::size_t services);

// Copies the file at `path` (weftd's log) to stderr, after `why`.
void print_log(const std::string& why, const std::string& path);

}  // namespace weft::bench

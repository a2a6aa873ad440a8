// weft-bench-ready: the harness floor of `weft-bench start`. A program that
// does nothing but tell NOTIFY_SOCKET "READY=1" the moment it runs, then
// waits for SIGTERM (then exits 0) as weftd does, so exec -> READY=1 of this program is
// what fork, exec, the loader (libc alone: linked --as-needed) and the
// bench's own receive cost. It takes weftd's command line (--config FILE)
// and ignores it. Plain libc, no libsystemd: the floor, not a client.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main() {
  // SIGTERM ends it with status 0, as it ends weftd: blocked from the start, then waited for.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, nullptr);
  const char* path = getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] != '/') {
    fputs("weft-bench-ready: NOTIFY_SOCKET is not set to a socket path; run it from `weft-bench start`\n", stderr);
    return 2;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    fprintf(stderr, "weft-bench-ready: NOTIFY_SOCKET %s: longer than a socket path may be\n", path);
    return 2;
  }
  strcpy(addr.sun_path, path);
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  static const char kReady[] = "READY=1";
  if (fd < 0 || sendto(fd, kReady, sizeof kReady - 1, MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                       sizeof addr) < 0) {
    perror("weft-bench-ready: send READY=1");
    return 1;
  }
  // Until SIGTERM, as weftd runs until stopped.
  int signal = 0;
  sigwait(&term, &signal);
  return 0;
}

/* LD_PRELOAD shim for tests (weftd_last_log_lines.sh): a write(2) to fd 2
 * whose buffer contains $WEFT_SLOW_WRITE_MATCH sleeps 300 ms first, so one
 * chosen log line is late, deterministically, as a log thread starved on a
 * loaded box would be. Every other write passes straight through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

ssize_t write(int fd, const void* buf, size_t n) {
  static ssize_t (*real)(int, const void*, size_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  const char* match = getenv("WEFT_SLOW_WRITE_MATCH");
  if (fd == 2 && match && *match && memmem(buf, n, match, strlen(match))) {
    struct timespec ts = {0, 300L * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return real(fd, buf, n);
}

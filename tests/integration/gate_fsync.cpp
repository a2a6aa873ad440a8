// LD_PRELOAD shim for tests: holds fsync() of files whose path contains
// $GATE_FSYNC_MATCH until the file $GATE_FSYNC_GATE exists, so a test can
// land a stop (or a burst of writes) exactly while a durable write is on
// the disk. On the first held call it creates $GATE_FSYNC_GATE.reached;
// once the gate exists every call passes; while $GATE_FSYNC_GATE.fail
// exists such a call fails with EIO instead (a disk error on cue). A held
// call gives up after 120 s
// (so a broken test cannot hang its process forever). Other files and
// processes without the variables are not affected.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

bool held(int fd) {
  const char* match = std::getenv("GATE_FSYNC_MATCH");
  const char* gate = std::getenv("GATE_FSYNC_GATE");
  if (match == nullptr || gate == nullptr || *match == '\0') return false;
  char link[64], target[PATH_MAX + 1];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = ::readlink(link, target, PATH_MAX);
  if (n <= 0) return false;
  target[n] = '\0';
  return std::strstr(target, match) != nullptr;
}

void wait_gate() {
  const char* gate = std::getenv("GATE_FSYNC_GATE");
  if (::access(gate, F_OK) == 0) return;
  const std::string reached = std::string(gate) + ".reached";
  const int fd = ::open(reached.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  for (int i = 0; i < 12000 && ::access(gate, F_OK) != 0; ++i) {
    const timespec ten_ms{0, 10'000'000};
    ::nanosleep(&ten_ms, nullptr);
  }
}

}  // namespace

extern "C" int fsync(int fd) {
  using Fn = int (*)(int);
  static const Fn real = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, "fsync"));
  if (held(fd)) {
    wait_gate();
    const std::string fail = std::string(std::getenv("GATE_FSYNC_GATE")) + ".fail";
    if (::access(fail.c_str(), F_OK) == 0) {
      errno = EIO;
      return -1;
    }
  }
  return real(fd);
}

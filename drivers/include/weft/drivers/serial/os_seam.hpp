// The OS seam: every system call the serial layer makes on a device or a
// lock file goes through one table of function pointers (after SQLite's
// os_unix.c), so a test can make any one of them fail or record its calls.
// The default table calls the real functions. Overrides are for tests:
// install one before any port is opened and keep it until they are closed.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>

namespace weft::serial {

struct OsCalls {
  int (*open)(const char* path, int flags, mode_t mode);
  int (*close)(int fd);
  ssize_t (*read)(int fd, void* buffer, size_t size);
  ssize_t (*write)(int fd, const void* buffer, size_t size);
  int (*link)(const char* existing, const char* new_path);
  int (*unlink)(const char* path);
  int (*ioctl)(int fd, unsigned long request, void* arg);
  int (*tcgetattr)(int fd, termios* t);
  int (*tcsetattr)(int fd, int action, const termios* t);
  int (*tcflush)(int fd, int queue);
  int (*flock)(int fd, int operation);
  int (*kill)(pid_t pid, int signal);
  pid_t (*getpid)();
  int (*stat)(const char* path, struct stat* st);  // follows symlinks (/proc/PID/fd/N)
  DIR* (*opendir)(const char* path);                // /proc/PID/fd
};

// The real system calls.
const OsCalls& real_os_calls() noexcept;
// The table in effect: the innermost live ScopedOsOverride, else the real one.
const OsCalls& os() noexcept;

// Installs `calls` for its lifetime and restores the previous table after.
// Overrides nest; destroy them in reverse order of creation. Build `calls`
// from real_os_calls() and replace only the entries under test, e.g.
//   OsCalls c = real_os_calls();
//   c.tcsetattr = [](int, int, const termios*) { errno = EIO; return -1; };
//   ScopedOsOverride failing_tcsetattr(c);
class ScopedOsOverride {
public:
  explicit ScopedOsOverride(const OsCalls& calls) noexcept;
  ~ScopedOsOverride();
  ScopedOsOverride(const ScopedOsOverride&) = delete;
  ScopedOsOverride& operator=(const ScopedOsOverride&) = delete;

private:
  OsCalls calls_;
  const OsCalls* previous_;
};

}  // namespace weft::serial

// Through the OS seam: open_exclusive() sets TIOCEXCL (seen in the seam and
// via TIOCGEXCL, as root bypasses it) and close clears it; a failing
// tcsetattr or a dropped setting is reported naming the port and setting,
// leaving no fd open and no lock file; overrides nest and restore.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/pty_pair.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/os_seam.hpp"
#include "weft/drivers/serial/port_lock.hpp"
#include "support/files.hpp"

using weft::serial::lock_file_path;
using weft::serial::open_exclusive;
using weft::serial::OsCalls;
using weft::serial::PortErrorKind;
using weft::serial::real_os_calls;
using weft::serial::ScopedOsOverride;
using weft::serial::SerialSettings;
using weft::test::PtyPair;

namespace {

// What the recording calls saw (function pointers cannot capture).
std::vector<std::pair<int, unsigned long>> g_ioctls;
std::set<int> g_open_fds;

OsCalls recording_calls() {
  OsCalls calls = real_os_calls();
  calls.open = [](const char* path, int flags, mode_t mode) {
    int fd = real_os_calls().open(path, flags, mode);
    if (fd >= 0) g_open_fds.insert(fd);
    return fd;
  };
  calls.close = [](int fd) {
    g_open_fds.erase(fd);
    return real_os_calls().close(fd);
  };
  calls.ioctl = [](int fd, unsigned long request, void* arg) {
    g_ioctls.emplace_back(fd, request);
    return real_os_calls().ioctl(fd, request, arg);
  };
  return calls;
}

}  // namespace

TEST_CASE("serial os seam: open_exclusive sets TIOCEXCL on the device fd", "[serial]") {
  PtyPair pty;
  g_ioctls.clear();
  ScopedOsOverride recording(recording_calls());

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  const int fd = port.value().fd();
  CHECK(std::count(g_ioctls.begin(), g_ioctls.end(), std::pair<int, unsigned long>(fd, TIOCEXCL)) == 1);

  int exclusive = 0;  // the kernel's view, root or not
  REQUIRE(::ioctl(fd, TIOCGEXCL, &exclusive) == 0);
  CHECK(exclusive == 1);

  if (::geteuid() != 0) {
    int rival = ::open(pty.a().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    CHECK(rival == -1);
    CHECK(errno == EBUSY);
    if (rival >= 0) ::close(rival);
  }

  // Closing clears the flag: a pty keeps it as long as socat holds the master.
  port.value().close();
  CHECK(std::count(g_ioctls.begin(), g_ioctls.end(), std::pair<int, unsigned long>(fd, TIOCNXCL)) == 1);
  int plain = ::open(pty.a().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
  REQUIRE(plain >= 0);
  REQUIRE(::ioctl(plain, TIOCGEXCL, &exclusive) == 0);
  CHECK(exclusive == 0);
  ::close(plain);
}

TEST_CASE("serial os seam: a failing tcsetattr names the port and the settings, and cleans up", "[serial]") {
  PtyPair pty;
  g_open_fds.clear();
  OsCalls calls = recording_calls();
  calls.tcsetattr = [](int, int, const termios*) {
    errno = EIO;
    return -1;
  };
  ScopedOsOverride failing(calls);

  auto port = open_exclusive(SerialSettings{.path = pty.a(), .baud = 19200, .parity = 'E'}, pty.dir());
  REQUIRE_FALSE(port.ok());
  INFO(port.error().message);
  CHECK(port.error().kind == PortErrorKind::configuration);
  CHECK(port.error().sys_errno == EIO);
  CHECK(weft::test::contains(port.error().message, "port " + pty.a()));
  CHECK(weft::test::contains(port.error().message, "tcsetattr"));
  CHECK(weft::test::contains(port.error().message, "baud 19200, data_bits 8, parity E, stop_bits 1, flow none"));
  CHECK(g_open_fds.empty());  // the device fd and the lock-file fds were all closed
  CHECK_FALSE(std::filesystem::exists(lock_file_path(pty.a(), pty.dir())));
  for (const auto& entry : std::filesystem::directory_iterator(pty.dir()))  // no temp lock left either
    CHECK_FALSE(weft::test::contains(entry.path().filename().string(), "LTMP."));
}

TEST_CASE("serial os seam: a driver that drops a setting is reported naming that setting", "[serial]") {
  PtyPair pty;
  OsCalls calls = real_os_calls();
  calls.tcsetattr = [](int fd, int action, const termios* t) {
    termios without_stop_bits = *t;  // a driver that cannot send two stop bits
    without_stop_bits.c_cflag &= ~CSTOPB;
    return real_os_calls().tcsetattr(fd, action, &without_stop_bits);
  };
  ScopedOsOverride dropping(calls);

  auto port = open_exclusive(SerialSettings{.path = pty.a(), .stop_bits = 2}, pty.dir());
  REQUIRE_FALSE(port.ok());
  INFO(port.error().message);
  CHECK(port.error().kind == PortErrorKind::configuration);
  CHECK(weft::test::contains(port.error().message, "port " + pty.a() + ": the driver did not keep stop_bits 2 (it reports 1)"));
  CHECK_FALSE(std::filesystem::exists(lock_file_path(pty.a(), pty.dir())));
}

TEST_CASE("serial os seam: overrides nest and restore the real calls", "[serial]") {
  CHECK(&weft::serial::os() == &real_os_calls());
  OsCalls outer_calls = real_os_calls();
  outer_calls.getpid = [] { return pid_t{111}; };
  {
    ScopedOsOverride outer(outer_calls);
    CHECK(weft::serial::os().getpid() == 111);
    OsCalls inner_calls = weft::serial::os();
    inner_calls.getpid = [] { return pid_t{222}; };
    {
      ScopedOsOverride inner(inner_calls);
      CHECK(weft::serial::os().getpid() == 222);
    }
    CHECK(weft::serial::os().getpid() == 111);
  }
  CHECK(&weft::serial::os() == &real_os_calls());
  CHECK(weft::serial::os().getpid() == ::getpid());
}

// Exclusive access on real ptys: a second open is refused naming our PID and
// the lock file; close frees the port; a stale lock is taken over: a dead
// holder, a file with no PID (empty/garbage: it cannot be honoured), a live
// process that does not have the device open, our own PID left by an earlier
// process; a live holder that has the device open (socat, a child with the
// pty as stdin) is respected, and so is one whose fds cannot be checked;
// a lock that is no longer ours is left alone; an open that bypasses the
// lock file still meets TIOCEXCL or flock.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "support/lock_files.hpp"
#include "support/pty_pair.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/os_seam.hpp"
#include "weft/drivers/serial/port_lock.hpp"
#include "support/files.hpp"

using weft::serial::lock_file_path;
using weft::serial::open_exclusive;
using weft::serial::PortErrorKind;
using weft::serial::SerialSettings;
using weft::test::dead_pid;
using weft::test::PtyPair;
using weft::test::read_file;
using weft::test::uucp_pid;

namespace {

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
}

// A child process (`sleep`) that lives until the end of the scope; with
// `device`, the device is its stdin, so /proc/PID/fd shows it open.
class Child {
public:
  explicit Child(const std::string& device = {}) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!device.empty()) posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, device.c_str(), O_RDWR | O_NOCTTY, 0);
    char name[] = "sleep";
    char seconds[] = "60";
    char* argv[] = {name, seconds, nullptr};
    const int rc = ::posix_spawnp(&pid_, "sleep", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    if (!device.empty()) wait_until_open(device);
  }
  ~Child() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }

private:
  // posix_spawn returns before the child's file actions ran: wait (bounded)
  // until its stdin is the device.
  void wait_until_open(const std::string& device) {
    struct stat want {};
    REQUIRE(::stat(device.c_str(), &want) == 0);
    const std::string fd0 = "/proc/" + std::to_string(pid_) + "/fd/0";
    for (int tries = 0; tries < 500; ++tries) {
      struct stat got {};
      if (::stat(fd0.c_str(), &got) == 0 && S_ISCHR(got.st_mode) && got.st_rdev == want.st_rdev) return;
      ::usleep(10'000);
    }
    FAIL("the child did not open " << device << " within 5 s");
  }
  pid_t pid_ = -1;
};

bool fds_checkable(pid_t pid) {
  struct stat st {};
  return ::stat(("/proc/" + std::to_string(pid) + "/fd/0").c_str(), &st) == 0 || errno == ENOENT;
}

}  // namespace

TEST_CASE("serial port lock: a second open_exclusive is refused with our PID and the lock file", "[serial]") {
  PtyPair pty;
  const SerialSettings settings{.path = pty.a()};
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());

  auto first = open_exclusive(settings, pty.dir());
  REQUIRE(first.ok());
  CHECK(first.value().lock_file() == lock_file);
  CHECK(read_file(lock_file) == uucp_pid(::getpid()));  // UUCP format: "%10d\n"

  auto second = open_exclusive(settings, pty.dir());
  REQUIRE_FALSE(second.ok());
  INFO(second.error().message);
  CHECK(second.error().kind == PortErrorKind::in_use);
  CHECK(weft::test::contains(second.error().message, "port " + pty.a() + " is in use by PID " + std::to_string(::getpid())));
  CHECK(weft::test::contains(second.error().message, "(lock file " + lock_file + ")"));
  CHECK(weft::test::contains(second.error().message, "stop that process or choose another port"));
  CHECK(std::filesystem::exists(lock_file));  // the refused open left the holder's lock alone

  first.value().close();
  CHECK_FALSE(std::filesystem::exists(lock_file));
  auto third = open_exclusive(settings, pty.dir());
  INFO((third.ok() ? std::string() : third.error().message));
  CHECK(third.ok());
}

TEST_CASE("serial port lock: a lock file naming a dead process is stale and taken over", "[serial]") {
  PtyPair pty;
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(dead_pid()));

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  CHECK(read_file(lock_file) == uucp_pid(::getpid()));
}

TEST_CASE("serial port lock: a lock file without a PID (empty or garbage) is stale and taken over", "[serial]") {
  PtyPair pty;
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  for (const std::string content : {"", "garbage\n", "12ab\n", "         0\n", "        -5\n", "\x01\x02\x03\x04"}) {
    write_file(lock_file, content);
    auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
    INFO("lock content: '" << content << "' " << (port.ok() ? std::string() : port.error().message));
    REQUIRE(port.ok());
    CHECK(read_file(lock_file) == uucp_pid(::getpid()));
  }
}


TEST_CASE("serial port lock: a live process that has the pty open is respected (socat)", "[serial]") {
  PtyPair pty;  // socat holds both pty slaves open
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(pty.pid()));

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE_FALSE(port.ok());
  INFO(port.error().message);
  CHECK(port.error().kind == PortErrorKind::in_use);
  CHECK(weft::test::contains(port.error().message, "is in use by PID " + std::to_string(pty.pid()) + " (lock file " + lock_file + ")"));
  CHECK(read_file(lock_file) == uucp_pid(pty.pid()));
}

TEST_CASE("serial port lock: a live child with the pty as its stdin is respected, through a symlink too", "[serial]") {
  PtyPair pty;
  const std::string alias = pty.dir() + "/by-id-alias";
  std::filesystem::create_symlink(pty.b(), alias);
  Child holder(alias);  // opened by another name: matched by device number, not by path
  const std::string lock_file = lock_file_path(pty.b(), pty.dir());
  write_file(lock_file, uucp_pid(holder.pid()));

  auto port = open_exclusive(SerialSettings{.path = pty.b()}, pty.dir());
  REQUIRE_FALSE(port.ok());
  INFO(port.error().message);
  CHECK(port.error().kind == PortErrorKind::in_use);
  CHECK(weft::test::contains(port.error().message, "is in use by PID " + std::to_string(holder.pid()) + " (lock file "));
  CHECK(read_file(lock_file) == uucp_pid(holder.pid()));
}

TEST_CASE("serial port lock: a live process that does not have the device open is stale and taken over", "[serial]") {
  PtyPair pty;
  Child unrelated;  // alive, but its fds are /dev/null and the test's pipes
  REQUIRE(::kill(unrelated.pid(), 0) == 0);
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(unrelated.pid()));

  auto lock = weft::serial::PortLock::acquire(pty.a(), pty.dir());
  INFO((lock.ok() ? std::string() : lock.error().message));
  REQUIRE(lock.ok());
  CHECK(read_file(lock_file) == uucp_pid(::getpid()));
  CHECK(lock.value().stale_note() == "took over stale lock file " + lock_file + ": PID " +
                                         std::to_string(unrelated.pid()) + " is running but does not have " +
                                         pty.a() + " open");
}

TEST_CASE("serial port lock: a lock naming PID 1 is taken over unless PID 1's fds cannot be checked", "[serial]") {
  PtyPair pty;
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(1));  // init is always alive (kill(1, 0) is 0 or EPERM) and has no pty of ours open

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  if (fds_checkable(1)) {
    INFO((port.ok() ? std::string() : port.error().message));
    REQUIRE(port.ok());
    CHECK(read_file(lock_file) == uucp_pid(::getpid()));
    CHECK(weft::test::contains(port.value().stale_lock_note(), "PID 1 is running but does not have " + pty.a() + " open"));
  } else {  // e.g. PID 1 in another user namespace: /proc/1/fd lists, its links say EACCES
    REQUIRE_FALSE(port.ok());
    INFO(port.error().message);
    CHECK(port.error().kind == PortErrorKind::in_use);
    CHECK(weft::test::contains(port.error().message, "is in use by PID 1 (lock file " + lock_file + "), and whether PID 1 has "
                                         "the port open cannot be checked (/proc/1/fd/"));
    CHECK(read_file(lock_file) == uucp_pid(1));
  }
}

TEST_CASE("serial port lock: a holder whose /proc/PID/fd cannot be read is respected, and the message says so", "[serial]") {
  PtyPair pty;
  Child unrelated;
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(unrelated.pid()));

  weft::serial::OsCalls calls = weft::serial::real_os_calls();
  calls.opendir = [](const char* path) -> DIR* {
    if (std::string_view(path).starts_with("/proc/")) {
      errno = EACCES;
      return nullptr;
    }
    return weft::serial::real_os_calls().opendir(path);
  };
  weft::serial::ScopedOsOverride no_proc(calls);
  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE_FALSE(port.ok());
  INFO(port.error().message);
  CHECK(port.error().kind == PortErrorKind::in_use);
  const std::string pid = std::to_string(unrelated.pid());
  CHECK(weft::test::contains(port.error().message, "is in use by PID " + pid + " (lock file " + lock_file + "), and whether PID " +
                                           pid + " has the port open cannot be checked (/proc/" + pid +
                                           "/fd: Permission denied), so the lock is honoured"));
  CHECK(read_file(lock_file) == uucp_pid(unrelated.pid()));
}

TEST_CASE("serial port lock: a lock naming our own PID that this process does not hold is taken over", "[serial]") {
  PtyPair pty;
  const std::string lock_file = lock_file_path(pty.a(), pty.dir());
  write_file(lock_file, uucp_pid(::getpid()));  // left by an earlier process that had our PID (a restart, PID 1 in a container)

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  INFO((port.ok() ? std::string() : port.error().message));
  REQUIRE(port.ok());
  CHECK(read_file(lock_file) == uucp_pid(::getpid()));
  CHECK(weft::test::contains(port.value().stale_lock_note(), "it names this process's own PID " + std::to_string(::getpid())));

  // While this process holds it through `port`, the same PID is live.
  auto again = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE_FALSE(again.ok());
  CHECK(weft::test::contains(again.error().message, "which is this process"));
  port.value().close();
  CHECK_FALSE(std::filesystem::exists(lock_file));
}

TEST_CASE("serial port lock: close leaves a lock file that no longer holds our PID", "[serial]") {
  PtyPair pty;
  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE(port.ok());
  const std::string lock_file = port.value().lock_file();
  write_file(lock_file, uucp_pid(1));  // someone took it over
  port.value().close();
  CHECK(read_file(lock_file) == uucp_pid(1));
}

TEST_CASE("serial port lock: symlinks to one device share one lock file", "[serial]") {
  PtyPair pty;
  const std::string alias = pty.dir() + "/alias";
  std::filesystem::create_symlink(pty.a(), alias);
  CHECK(lock_file_path(alias, pty.dir()) == lock_file_path(pty.a(), pty.dir()));

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE(port.ok());
  auto other = open_exclusive(SerialSettings{.path = alias}, pty.dir());
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == PortErrorKind::in_use);
}

TEST_CASE("serial port lock: an open that bypasses the lock file still meets TIOCEXCL or flock", "[serial]") {
  PtyPair pty;
  const std::string other_lock_dir = pty.dir() + "/other-locks";
  std::filesystem::create_directory(other_lock_dir);

  auto port = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir());
  REQUIRE(port.ok());
  auto rival = open_exclusive(SerialSettings{.path = pty.a()}, other_lock_dir);
  REQUIRE_FALSE(rival.ok());
  INFO(rival.error().message);
  CHECK(rival.error().kind == PortErrorKind::in_use);
  // Non-root: open(2) fails with EBUSY (TIOCEXCL). Root bypasses TIOCEXCL, so the flock refuses.
  CHECK(weft::test::contains(rival.error().message, ::geteuid() == 0 ? "flock" : "TIOCEXCL"));
  // The rival released the lock it had taken in its own lock dir.
  CHECK_FALSE(std::filesystem::exists(lock_file_path(pty.a(), other_lock_dir)));
}

TEST_CASE("serial port lock: a missing lock dir and a missing device are reported with what to do", "[serial]") {
  PtyPair pty;
  auto no_dir = open_exclusive(SerialSettings{.path = pty.a()}, pty.dir() + "/no-such-dir");
  REQUIRE_FALSE(no_dir.ok());
  CHECK(no_dir.error().kind == PortErrorKind::lock_dir);
  CHECK(weft::test::contains(no_dir.error().message, pty.dir() + "/no-such-dir"));
  CHECK(weft::test::contains(no_dir.error().message, "create the directory or configure another lock dir"));

  const std::string missing = pty.dir() + "/ttyUSB9";
  auto no_device = open_exclusive(SerialSettings{.path = missing}, pty.dir());
  REQUIRE_FALSE(no_device.ok());
  CHECK(no_device.error().kind == PortErrorKind::not_found);
  CHECK(weft::test::contains(no_device.error().message, "port " + missing + " not found"));
  CHECK(weft::test::contains(no_device.error().message, "check that the device is plugged in"));
  CHECK_FALSE(std::filesystem::exists(lock_file_path(missing, pty.dir())));

  auto invalid = open_exclusive(SerialSettings{.path = pty.a(), .baud = 1234}, pty.dir());
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().kind == PortErrorKind::invalid_settings);
  CHECK_FALSE(std::filesystem::exists(lock_file_path(pty.a(), pty.dir())));
}

TEST_CASE("serial port lock: the default lock dir is /run/lock or /var/lock", "[serial]") {
  const std::string dir = weft::serial::default_lock_dir();
  CHECK((dir == "/run/lock" || dir == "/var/lock"));
}

// open_locked: an OFD lock conflicts between two opens in ONE process (a
// POSIX fcntl lock would not: that is why OFD), between processes, is
// dropped when its holder closes or is killed, names what is known of the
// holder, and shared locks share.
#include "weft/core/locked_file.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using weft::LockError;
using weft::LockKind;

namespace {

// Waits (bounded) for one byte from the child.
void await_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 20'000) == 1);
  char c = 0;
  REQUIRE(::read(fd, &c, 1) == 1);
}

// A child that runs `hold` (which must lock and keep the lock), reports
// back, and then waits until it is killed. Returns its pid.
template <class F>
pid_t holding_child(F hold) {
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    if (!hold()) ::_exit(3);
    char c = 'l';
    if (::write(ready[1], &c, 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  await_byte(ready[0]);
  ::close(ready[0]);
  return pid;
}

void kill_and_reap(pid_t pid) {
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
}

}  // namespace

TEST_CASE("two opens of one file in one process conflict under OFD locks", "[locked_file]") {
  const std::string dir = weft::test::temp_dir("weft-ofd");
  const std::string path = dir + "/history.toml";
  LockError e1, e2;
  weft::LockedFile first = weft::open_locked(path, O_RDWR | O_CREAT, LockKind::exclusive, e1);
  REQUIRE(first);
  REQUIRE_FALSE(e1);
  CHECK(first.path() == path);

  weft::LockedFile second = weft::open_locked(path, O_RDWR, LockKind::exclusive, e2);
  CHECK_FALSE(second);
  CHECK(e2.busy());
  CHECK_THAT(e2.message, Catch::Matchers::StartsWith(path + " is locked by another open file (an exclusive "
                                                            "open-file-description lock"));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK_THAT(e2.message, Catch::Matchers::Contains("`lslocks` lists it as inode " + std::to_string(st.st_ino)));
  // A shared lock conflicts with the exclusive one too.
  CHECK_FALSE(weft::open_locked(path, O_RDONLY, LockKind::shared, e2));
  CHECK(e2.busy());

  first.close();  // released at once, not at process exit
  weft::LockedFile third = weft::open_locked(path, O_RDWR, LockKind::exclusive, e2);
  CHECK(third);
  CHECK_FALSE(e2);
  fs::remove_all(dir);
}

TEST_CASE("shared OFD locks share, and keep an exclusive one out", "[locked_file]") {
  const std::string dir = weft::test::temp_dir("weft-ofd");
  const std::string path = dir + "/config.toml";
  LockError e;
  weft::LockedFile a = weft::open_locked(path, O_RDONLY | O_CREAT, LockKind::shared, e);
  REQUIRE(a);
  weft::LockedFile b = weft::open_locked(path, O_RDONLY, LockKind::shared, e);
  REQUIRE(b);
  CHECK_FALSE(weft::open_locked(path, O_RDWR, LockKind::exclusive, e));
  CHECK(e.busy());
  CHECK_THAT(e.message, Catch::Matchers::Contains("(a shared open-file-description lock"));
  a.close();
  b.close();
  CHECK(weft::open_locked(path, O_RDWR, LockKind::exclusive, e));
  fs::remove_all(dir);
}

TEST_CASE("an OFD lock held by another process is busy until that process is killed", "[locked_file]") {
  const std::string dir = weft::test::temp_dir("weft-ofd");
  const std::string path = dir + "/claimed.csv";
  const pid_t child = holding_child([&] {
    LockError e;
    static weft::LockedFile held;  // lives until the child is killed
    held = weft::open_locked(path, O_RDWR | O_CREAT, LockKind::exclusive, e);
    return static_cast<bool>(held);
  });
  LockError e;
  CHECK_FALSE(weft::open_locked(path, O_RDWR, LockKind::exclusive, e));
  CHECK(e.busy());
  kill_and_reap(child);  // no clean-up runs: the kernel drops the lock
  CHECK(weft::open_locked(path, O_RDWR, LockKind::exclusive, e));
  CHECK_FALSE(e);
  fs::remove_all(dir);
}

TEST_CASE("a POSIX lock of another process is busy and named by its pid", "[locked_file]") {
  const std::string dir = weft::test::temp_dir("weft-ofd");
  const std::string path = dir + "/legacy.lock";
  const pid_t child = holding_child([&] {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0;
  });
  LockError e;
  CHECK_FALSE(weft::open_locked(path, O_RDWR, LockKind::exclusive, e));
  CHECK(e.busy());
  CHECK(e.message == path + " is locked by process " + std::to_string(child) + " (an exclusive POSIX fcntl lock)");
  kill_and_reap(child);
  fs::remove_all(dir);
}

TEST_CASE("open_locked on a missing file says which and why", "[locked_file]") {
  const std::string dir = weft::test::temp_dir("weft-ofd");
  LockError e;
  CHECK_FALSE(weft::open_locked(dir + "/nope", O_RDWR, LockKind::exclusive, e));
  CHECK(e.err == ENOENT);
  CHECK_FALSE(e.busy());
  CHECK(e.message == "cannot open " + dir + "/nope: No such file or directory");
  fs::remove_all(dir);
}

// Two real processes race to take over one stale lock file, 1,000 times:
// each round the parent writes a lock naming a dead PID, forks two racers
// that open the pty (as a real user of the port would), releases them at
// once through a pipe, and checks that exactly one got the lock, that the
// loser was refused naming the winner, and that the file names the winner.
// Every wait is bounded; the racers are killed and reaped on any failure.
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "support/lock_files.hpp"
#include "support/pty_pair.hpp"
#include "weft/drivers/serial/port_lock.hpp"

using weft::test::dead_pid;
using weft::test::PtyPair;
using weft::test::read_file;
using weft::test::uucp_pid;

namespace {

constexpr int kRounds = 1000;
constexpr int kWaitMs = 10'000;  // for any one step of a round

// Reads one line ("W <pid>" or "L <message>") from `fd`, waiting at most kWaitMs.
bool read_report(int fd, std::string& line) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
  line.clear();
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) return false;
    if (c == '\n') return true;
    line += c;
  }
  return false;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

// A racer: holds the device open, waits for the start signal, tries the
// lock, reports, holds a won lock until told to finish, then releases it
// (still holding the device, as rule 2 of port_lock.cpp asks) and exits.
[[noreturn]] void racer(const std::string& device, const std::string& lock_dir, int start_fd, int finish_fd,
                        int report_fd) {
  const int device_fd = ::open(device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  char go = 0;
  if (device_fd < 0 || ::read(start_fd, &go, 1) != 1) ::_exit(2);
  {
    auto lock = weft::serial::PortLock::acquire(device, lock_dir);
    write_all(report_fd, lock.ok() ? "W " + std::to_string(::getpid()) + "\n" : "L " + lock.error().message + "\n");
    char done = 0;
    (void)::read(finish_fd, &done, 1);  // EOF when the parent closes it
  }
  ::_exit(0);
}

struct Racer {
  pid_t pid = -1;
  int report = -1;  // read end
};

}  // namespace

TEST_CASE("serial port lock: two processes taking over one stale lock 1000 times, exactly one wins each time",
          "[serial][race]") {
  PtyPair pty;
  const std::string lock_file = weft::serial::lock_file_path(pty.a(), pty.dir());
  pid_t stale = dead_pid();
  int both_won = 0, none_won = 0;

  for (int round = 0; round < kRounds; ++round) {
    if (::kill(stale, 0) == 0 || errno != ESRCH) stale = dead_pid();  // PIDs wrap: keep the holder dead
    {
      std::ofstream out(lock_file, std::ios::trunc);
      out << uucp_pid(stale);
    }
    int start[2], finish[2];
    REQUIRE(::pipe2(start, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(finish, O_CLOEXEC) == 0);
    Racer racers[2];
    for (Racer& r : racers) {
      int report[2];
      REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
      r.pid = ::fork();
      REQUIRE(r.pid >= 0);
      if (r.pid == 0) {
        ::close(start[1]);
        ::close(finish[1]);
        ::close(report[0]);
        racer(pty.a(), pty.dir(), start[0], finish[0], report[1]);
      }
      ::close(report[1]);
      r.report = report[0];
    }
    ::close(start[0]);
    ::close(finish[0]);
    write_all(start[1], "gg");  // one byte each: both start at once

    std::string lines[2];
    bool reported[2];
    for (int i = 0; i < 2; ++i) reported[i] = read_report(racers[i].report, lines[i]);
    const std::string file_now = read_file(lock_file);
    ::close(start[1]);
    ::close(finish[1]);  // the racers finish
    for (Racer& r : racers) {
      if (!reported[&r - racers]) ::kill(r.pid, SIGKILL);
      int status = 0;
      ::waitpid(r.pid, &status, 0);
      ::close(r.report);
    }

    INFO("round " << round << ": racer " << racers[0].pid << " said '" << lines[0] << "', racer " << racers[1].pid
                  << " said '" << lines[1] << "', lock file holds '" << file_now << "'");
    REQUIRE(reported[0]);
    REQUIRE(reported[1]);
    const int wins = (lines[0].starts_with("W ") ? 1 : 0) + (lines[1].starts_with("W ") ? 1 : 0);
    if (wins == 2) ++both_won;
    if (wins == 0) ++none_won;
    if (wins != 1) {
      CHECK(both_won == 0);
      CHECK(none_won == 0);
      FAIL("round " << round << ": " << wins << " racers won");
    }
    const int winner = lines[0].starts_with("W ") ? 0 : 1;
    const pid_t winner_pid = racers[winner].pid;
    REQUIRE(lines[winner] == "W " + std::to_string(winner_pid));
    REQUIRE(file_now == uucp_pid(winner_pid));
    // The loser was refused because the winner holds the port, not for another reason.
    REQUIRE(lines[1 - winner].find("is in use by PID " + std::to_string(winner_pid) + " (lock file " + lock_file + ")") !=
            std::string::npos);
  }
}

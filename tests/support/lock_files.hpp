// Helpers for the serial lock-file tests: read a lock file, format a UUCP
// lock's PID line, and find a PID that is certainly dead (spawned, reaped,
// and checked with kill), so a lock naming it is stale.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "support/files.hpp"

namespace weft::test {

inline std::string uucp_pid(int pid) {
  char text[16];
  std::snprintf(text, sizeof text, "%10d\n", pid);
  return text;
}

inline pid_t dead_pid() {
  for (int tries = 0; tries < 20; ++tries) {
    pid_t pid = -1;
    char name[] = "true";
    char* argv[] = {name, nullptr};
    REQUIRE(::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    if (::kill(pid, 0) != 0 && errno == ESRCH) return pid;
  }
  FAIL("could not find a PID that stays dead");
  return -1;
}

}  // namespace weft::test

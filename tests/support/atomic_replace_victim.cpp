// The victim of the kill -9 test (tests/core/atomic_replace_kill_test.cpp):
// replaces the config file at argv[1] with atomic_replace up to 200 times,
// each time with the variant it does not hold now (A <-> B), writing one
// byte to stdout after each replace so the driver knows how far it got;
// then waits to be killed. The driver SIGKILLs it at random moments.
// Exit 2: a replace failed (the message is on stderr).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "support/atomic_victim_contents.hpp"
#include "weft/core/atomic_file.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CONFIG_FILE\n", argv[0]);
    return 64;
  }
  const std::string path = argv[1];
  const std::string a = weft::test::victim_config('A');
  const std::string b = weft::test::victim_config('B');
  std::stringstream now;
  now << std::ifstream(path).rdbuf();
  bool holds_a = now.str() == a;
  for (int i = 0; i < 200; ++i) {
    if (const weft::AtomicWriteError e = weft::atomic_replace(path, holds_a ? b : a)) {
      std::fprintf(stderr, "replace %d: %s\n", i + 1, e.message().c_str());
      return 2;
    }
    holds_a = !holds_a;
    const char done = 'r';
    if (::write(STDOUT_FILENO, &done, 1) != 1) return 3;
  }
  for (;;) ::pause();
}

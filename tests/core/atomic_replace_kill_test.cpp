// The kill -9 test: a victim process replaces a TOML config file
// with atomic_replace (A <-> B, up to 200 times a run), and is SIGKILLed at
// a random moment, 200 times. After every kill the file parses and is
// exactly A or B, never a torn mix; afterwards the temps the kills left are
// swept by the next replace. The kill points come from a fixed seed (the
// timing still varies with load; the outcome must not).
#include "weft/core/atomic_file.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "support/atomic_victim_contents.hpp"
#include "support/lock_files.hpp"
#include "weft/core/config.hpp"

#ifndef WEFT_ATOMIC_VICTIM
#error "WEFT_ATOMIC_VICTIM: the path of the weft-atomic-victim program (tests/CMakeLists.txt)"
#endif

namespace fs = std::filesystem;

namespace {

struct Victim {
  pid_t pid = -1;
  int progress = -1;  // one byte per finished replace
};

Victim start_victim(const std::string& config, const std::string& errors) {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::string program = WEFT_ATOMIC_VICTIM;
  std::string arg = config;
  char* argv[] = {program.data(), arg.data(), nullptr};
  Victim v;
  const int rc = ::posix_spawn(&v.pid, program.c_str(), &actions, nullptr, argv, environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  REQUIRE(rc == 0);
  v.progress = pipe_fds[0];
  return v;
}

// Waits (bounded) until the victim has finished `replaces` more replaces.
void await_replaces(const Victim& v, int replaces) {
  for (int i = 0; i < replaces; ++i) {
    pollfd p{v.progress, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 30'000) == 1);
    char c = 0;
    REQUIRE(::read(v.progress, &c, 1) == 1);  // 0: it exited early (its errors file says why)
  }
}

std::size_t temps_in(const std::string& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".tmp";
  return n;
}

}  // namespace

TEST_CASE("kill -9 at random moments during atomic replaces leaves the old or the new config", "[atomic_file]") {
  constexpr int kKills = 200;
  const std::string dir = weft::test::temp_dir("weft-kill");
  const std::string path = dir + "/weftd.toml";
  const std::string errors = dir + "/victim-errors.txt";
  const std::string a = weft::test::victim_config('A');
  const std::string b = weft::test::victim_config('B');
  REQUIRE_FALSE(weft::atomic_replace(path, a));

  std::mt19937 random(12);
  std::string before = a;
  int changed = 0, torn = 0;
  for (int round = 0; round < kKills; ++round) {
    const int replaces = static_cast<int>(random() % 3);             // let it finish 0..2 replaces,
    const auto more_us = static_cast<useconds_t>(random() % 4000);  // then kill it somewhere in the next ones
    const Victim v = start_victim(path, errors);
    await_replaces(v, replaces);
    ::usleep(more_us);
    REQUIRE(::kill(v.pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(v.pid, &status, 0) == v.pid);
    ::close(v.progress);
    INFO("round " << round << ": " << replaces << " replaces + " << more_us << " us; victim errors: "
                  << weft::test::read_file(errors));
    REQUIRE(WIFSIGNALED(status));  // killed by us, not failed on its own
    CHECK(WTERMSIG(status) == SIGKILL);

    const std::string text = weft::test::read_file(path);
    const bool is_a = text == a, is_b = text == b;
    CHECK((is_a || is_b));
    torn += !(is_a || is_b);
    std::string variant;
    try {
      if (const auto weftd = weft::Config::parse(text, path).root().table("weftd")) variant = weftd->string("variant", "");
    } catch (const weft::ConfigError& e) {
      variant = std::string("(does not parse: ") + e.what() + ")";
    }
    CHECK(variant == (is_a ? "A" : is_b ? "B" : "A or B"));
    changed += text != before;
    before = text;
  }
  const std::size_t temps_left = temps_in(dir);
  // The victims are dead: the next replace sweeps every temp they left.
  REQUIRE_FALSE(weft::atomic_replace(path, a));
  CHECK(temps_in(dir) == 0);
  std::printf("%d kills: the file changed between kills %d times, was torn %d times; %zu temps left by kills, "
              "swept\n", kKills, changed, torn, temps_left);
  fs::remove_all(dir);
}

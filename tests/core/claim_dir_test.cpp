// ClaimDir: claims move files into claimed/ smallest first, skip temps and
// dot files; finish removes, release gives back; two claimers (in one
// process or two) never get the same file, and of 10,000 files two
// processes claim each exactly once; a claim left by a killed claimer is
// found and taken over, a live one is not.
#include "weft/core/claim_dir.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "support/lock_files.hpp"

namespace fs = std::filesystem;

namespace {

std::string claim_temp_dir(const fs::path& under = fs::temp_directory_path()) {
  std::string pattern = (under / "weft-claim-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

// /dev/shm (a tmpfs) where there is one: 40,000 file creations, renames
// and removals on this loaded machine's ext4 take 16 s there, 1.5 s here,
// and claiming works the same on both (renameat2 RENAME_NOREPLACE, OFD locks).
std::string fast_temp_dir() {
  std::error_code ec;
  return fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? claim_temp_dir("/dev/shm") : claim_temp_dir();
}

void put(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir + "/" + name) << text;
}

std::string content_of(const weft::Claim& c) {
  std::string text(256, '\0');
  const ssize_t n = ::pread(c.fd(), text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return text;
}

// Waits for a child, at most `seconds`; kills it if it overstays.
int reap(pid_t pid, int seconds) {
  for (int waited_ms = 0;; waited_ms += 10) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r != 0) FAIL("waitpid " << pid << ": " << std::strerror(errno));
    if (waited_ms >= seconds * 1000) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      FAIL("child " << pid << " did not finish within " << seconds << " s");
    }
    ::usleep(10'000);
  }
}

}  // namespace

TEST_CASE("claims go smallest first into claimed/, skipping temps, dot files and directories", "[claim_dir]") {
  const std::string dir = claim_temp_dir();
  put(dir, "b.csv", "B");
  put(dir, "a.csv", "A");
  put(dir, "c.csv.4242-1.tmp", "half");  // a producer's temp (atomic_create)
  put(dir, ".hidden", "h");
  fs::create_directory(dir + "/sub");
  weft::ClaimDir queue(dir);

  std::optional<weft::Claim> a = queue.claim();
  REQUIRE(a);
  CHECK(a->name() == "a.csv");
  CHECK(a->path() == dir + "/claimed/a.csv");
  CHECK(content_of(*a) == "A");
  CHECK_FALSE(fs::exists(dir + "/a.csv"));
  std::optional<weft::Claim> b = queue.claim();
  REQUIRE(b);
  CHECK(b->name() == "b.csv");
  CHECK_FALSE(queue.claim());  // nothing else is claimable

  CHECK(a->finish().empty());
  CHECK_FALSE(fs::exists(dir + "/claimed/a.csv"));
  CHECK(b->release().empty());
  CHECK(fs::exists(dir + "/b.csv"));
  CHECK(weft::test::names_in(dir + "/claimed").empty());

  // Released, it is claimable again.
  std::optional<weft::Claim> again = queue.claim();
  REQUIRE(again);
  CHECK(again->name() == "b.csv");
  CHECK(again->finish().empty());
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{".hidden", "c.csv.4242-1.tmp", "claimed", "sub"});
  fs::remove_all(dir);
}

TEST_CASE("two claimers in one process never get the same file, nor take over a live claim", "[claim_dir]") {
  const std::string dir = claim_temp_dir();
  for (int i = 0; i < 20; ++i) put(dir, "f" + std::to_string(100 + i), std::to_string(i));
  weft::ClaimDir one(dir), two(dir);
  std::vector<weft::Claim> held;
  std::set<std::string> names;
  // Alternating: each one's listing holds files the other already took.
  for (bool turn = false;; turn = !turn) {
    std::optional<weft::Claim> c = (turn ? two : one).claim();
    if (!c) c = (turn ? one : two).claim();
    if (!c) break;
    CHECK(names.insert(c->name()).second);
    held.push_back(std::move(*c));
  }
  CHECK(names.size() == 20);
  // Every claim is alive (its lock held by an open in this process): none is abandoned.
  CHECK(two.take_over_abandoned().empty());
  held.clear();  // dropped without finish: abandoned, as if we had crashed
  std::vector<weft::Claim> taken = two.take_over_abandoned();
  CHECK(taken.size() == 20);
  CHECK(one.take_over_abandoned().empty());  // `two` holds them now
  for (weft::Claim& c : taken) CHECK(c.finish().empty());
  CHECK(weft::test::names_in(dir + "/claimed").empty());
  fs::remove_all(dir);
}

TEST_CASE("a claim left by a killed claimer is found and taken over at the next start", "[claim_dir]") {
  const std::string dir = claim_temp_dir();
  for (const char* n : {"1.dat", "2.dat", "3.dat"}) put(dir, n, n);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ready[0]);
    weft::ClaimDir queue(dir);
    std::optional<weft::Claim> first = queue.claim();
    std::optional<weft::Claim> second = queue.claim();
    char c = first && second ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) ::_exit(4);
    for (;;) ::pause();  // working on them until killed
  }
  ::close(ready[1]);
  pollfd p{ready[0], POLLIN, 0};
  REQUIRE(::poll(&p, 1, 20'000) == 1);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  REQUIRE(c == 'y');

  weft::ClaimDir queue(dir);
  CHECK(queue.take_over_abandoned().empty());  // the claimer lives: its claims are its own
  REQUIRE(::kill(child, SIGKILL) == 0);
  CHECK(WIFSIGNALED(reap(child, 20)));

  std::vector<weft::Claim> left = queue.take_over_abandoned();
  REQUIRE(left.size() == 2);
  CHECK(left[0].name() == "1.dat");
  CHECK(left[1].name() == "2.dat");
  CHECK(content_of(left[0]) == "1.dat");
  CHECK(left[0].release().empty());  // back to the queue, to be done again
  CHECK(left[1].finish().empty());
  std::optional<weft::Claim> next = queue.claim();
  REQUIRE(next);
  CHECK(next->name() == "1.dat");
  fs::remove_all(dir);
}

// The test: two processes claiming from one directory of 10,000
// files. Each child claims until the queue is empty, checks each file's
// content, logs its name, and finishes it; afterwards every name is logged
// exactly once and nothing is left in the queue or in claimed/.
TEST_CASE("two processes claiming from 10,000 files claim each exactly once", "[claim_dir]") {
  constexpr int kFiles = 10'000;
  const std::string dir = fast_temp_dir();
  const std::string queue_dir = dir + "/queue";
  fs::create_directory(queue_dir);
  std::set<std::string> expected;
  for (int i = 0; i < kFiles; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "r%05d.csv", i);
    put(queue_dir, name, name);
    expected.insert(name);
  }
  int start[2];
  REQUIRE(::pipe(start) == 0);
  pid_t children[2];
  for (int k = 0; k < 2; ++k) {
    children[k] = ::fork();
    REQUIRE(children[k] >= 0);
    if (children[k] == 0) {
      ::alarm(120);  // never outlive a hung test
      ::close(start[1]);
      char c;
      if (::read(start[0], &c, 1) != 0) ::_exit(5);  // both start when the parent closes the pipe
      std::FILE* log = std::fopen((dir + "/log" + std::to_string(k)).c_str(), "w");
      if (log == nullptr) ::_exit(6);
      weft::ClaimDir queue(queue_dir);
      while (std::optional<weft::Claim> claim = queue.claim()) {
        const bool intact = content_of(*claim) == claim->name();
        std::fprintf(log, "%s%s\n", intact ? "" : "BAD ", claim->name().c_str());
        if (!claim->finish().empty()) std::fprintf(log, "UNFINISHED %s\n", claim->name().c_str());
      }
      ::_exit(std::fclose(log) == 0 ? 0 : 7);
    }
  }
  ::close(start[0]);
  ::close(start[1]);  // go
  for (pid_t child : children) {
    const int status = reap(child, 120);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  std::set<std::string> claimed;
  std::size_t lines = 0, per_child[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    std::ifstream in(dir + "/log" + std::to_string(k));
    for (std::string line; std::getline(in, line); ++lines, ++per_child[k]) {
      INFO("log " << k << ": " << line);
      CHECK(claimed.insert(line).second);  // "BAD ..." or "UNFINISHED ..." lines fail too: not names
    }
  }
  std::printf("two claimers of %d files: %zu and %zu claims\n", kFiles, per_child[0], per_child[1]);
  CHECK(lines == kFiles);
  CHECK(claimed == expected);  // no loss, no stranger; a "BAD ..." line is a stranger
  CHECK(weft::test::names_in(queue_dir) == std::vector<std::string>{"claimed"});
  CHECK(weft::test::names_in(queue_dir + "/claimed").empty());
  fs::remove_all(dir);
}

// atomic_replace / atomic_create: the content is replaced whole, no temp is
// left, two writers of one file never share a temp, create never replaces,
// errors name the path and the errno text, and temps of dead writers are
// swept while those of live ones stay. (The kill -9 test is
// atomic_replace_kill_test.cpp.)
#include "weft/core/atomic_file.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"

namespace fs = std::filesystem;

namespace {

void touch(const std::string& path) { std::ofstream(path) << "half a "; }

}  // namespace

TEST_CASE("atomic_replace creates, then replaces whole, leaving no temp", "[atomic_file]") {
  const std::string dir = weft::test::temp_dir("weft-atomic");
  const std::string path = dir + "/weftd.toml";
  REQUIRE_FALSE(weft::atomic_replace(path, "a = 1\n"));
  CHECK(weft::test::read_file(path) == "a = 1\n");
  const std::string big(200'000, 'x');  // more than one write(2) may take
  REQUIRE_FALSE(weft::atomic_replace(path, big));
  CHECK(weft::test::read_file(path) == big);
  REQUIRE_FALSE(weft::atomic_replace(path, ""));
  CHECK(weft::test::read_file(path).empty());
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{"weftd.toml"});
  fs::remove_all(dir);
}

TEST_CASE("atomic_create never replaces a file already there", "[atomic_file]") {
  const std::string dir = weft::test::temp_dir("weft-atomic");
  const std::string path = dir + "/dump.txt";
  REQUIRE_FALSE(weft::atomic_create(path, "first\n"));
  const weft::AtomicWriteError e = weft::atomic_create(path, "second\n");
  REQUIRE(e);
  CHECK(e.err == EEXIST);
  CHECK(std::string(e.doing) == "rename");
  CHECK(weft::test::read_file(path) == "first\n");
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{"dump.txt"});  // its temp is gone too
  fs::remove_all(dir);
}

TEST_CASE("a failed atomic write names the step, the path and the errno text", "[atomic_file]") {
  const std::string dir = weft::test::temp_dir("weft-atomic");
  const weft::AtomicWriteError e = weft::atomic_replace(dir + "/missing/weftd.toml", "a = 1\n");
  REQUIRE(e);
  CHECK(e.err == ENOENT);
  CHECK(std::string(e.doing) == "create");
  CHECK_THAT(e.message(), Catch::Matchers::StartsWith("cannot create " + dir + "/missing/weftd.toml." +
                                                      std::to_string(::getpid()) + "-"));
  CHECK_THAT(e.message(), Catch::Matchers::EndsWith(".tmp: No such file or directory"));

  // The rename step fails on a directory in the way: the temp is removed.
  fs::create_directory(dir + "/taken");
  const weft::AtomicWriteError r = weft::atomic_replace(dir + "/taken", "a = 1\n");
  REQUIRE(r);
  CHECK(std::string(r.doing) == "rename");
  CHECK_THAT(r.message(), Catch::Matchers::EndsWith(": Is a directory"));
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{"taken"});
  fs::remove_all(dir);
}

// With one shared `<path>.tmp`, two writers truncate and rename each
// other's temp: a mixed file, or a rename failing with ENOENT.
TEST_CASE("two threads replacing one file never share a temp", "[atomic_file]") {
  const std::string dir = weft::test::temp_dir("weft-atomic");
  const std::string path = dir + "/shared.toml";
  const std::string a = "writer = \"a\"\n" + std::string(50'000, 'a') + "\n";
  const std::string b = "writer = \"b\"\n" + std::string(70'000, 'b') + "\n";
  std::vector<std::string> errors[2];
  auto writer = [&](const std::string& text, std::vector<std::string>& errs) {
    for (int i = 0; i < 100; ++i)
      if (const weft::AtomicWriteError e = weft::atomic_replace(path, text)) errs.push_back(e.message());
  };
  std::thread ta(writer, std::cref(a), std::ref(errors[0]));
  std::thread tb(writer, std::cref(b), std::ref(errors[1]));
  ta.join();
  tb.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  const std::string final_text = weft::test::read_file(path);
  CHECK((final_text == a || final_text == b));
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{"shared.toml"});
  fs::remove_all(dir);
}

TEST_CASE("temps of dead writers are swept, those of live writers and other files stay", "[atomic_file]") {
  const std::string dir = weft::test::temp_dir("weft-atomic");
  // A pid no process can have: above PID_MAX_LIMIT (2^22, the largest
  // pid_max). A pid that was dead a moment ago (dead_pid()) can be reused
  // by any process before the sweep looks, and then its temps rightly stay
  // (forcing the reuse with ns_last_pid shows it).
  const std::string dead = std::to_string((1L << 22) + 1);
  const std::string alive = std::to_string(::getppid());  // a live process that is not us
  const std::string ours = std::to_string(::getpid());
  for (const std::string& name : std::vector<std::string>{"weftd.toml." + dead + "-1.tmp", "weftd.toml." + dead + "-17.tmp", "weftd.toml." + alive + "-2.tmp",
        "weftd.toml." + ours + "-999.tmp", "other.toml." + dead + "-1.tmp", "weftd.toml.x" + dead + "-1.tmp",
        "notes.tmp", "weftd.toml.tmp"})
    touch(dir + "/" + name);

  // A replace sweeps its own file's dead temps only.
  REQUIRE_FALSE(weft::atomic_replace(dir + "/weftd.toml", "a = 1\n"));
  // Sorted, as names_in is: whether our pid sorts before our parent's
  // depends on the pids (they wrap at pid_max; a CI run failed on that).
  std::vector<std::string> expected{"notes.tmp",
                                    "other.toml." + dead + "-1.tmp",
                                    "weftd.toml",
                                    "weftd.toml." + alive + "-2.tmp",
                                    "weftd.toml." + ours + "-999.tmp",
                                    "weftd.toml.tmp",
                                    "weftd.toml.x" + dead + "-1.tmp"};
  std::sort(expected.begin(), expected.end());
  CHECK(weft::test::names_in(dir) == expected);
  // A sweep of the whole directory (one weft owns) takes any dead writer's.
  CHECK(weft::remove_abandoned_temps(dir) == 1);
  CHECK_FALSE(fs::exists(dir + "/other.toml." + dead + "-1.tmp"));
  CHECK(fs::exists(dir + "/weftd.toml." + alive + "-2.tmp"));
  fs::remove_all(dir);
}

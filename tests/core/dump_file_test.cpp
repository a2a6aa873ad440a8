// write_dump_file: each dump is written whole (atomic_create) under its own
// name, "-2", "-3"... for several in one second, even from two threads at
// once (the monitor thread and the console's blocking work); the newest
// `keep` stay, and temps of a writer killed mid-dump are swept.
#include "weft/core/dump.hpp"
#include "support/files.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/lock_files.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kWall = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z

}  // namespace

TEST_CASE("dumps in one second get their own names, the newest kept, dead temps swept", "[dump]") {
  const std::string dir = weft::test::temp_dir("weft-dumpfile") + "/dumps";
  const std::string base = "20260101T000000Z-" + std::to_string(::getpid());
  // A pid no process can have (above PID_MAX_LIMIT, 2^22): a pid that was
  // dead a moment ago can be reused before the sweep (atomic_file_test.cpp).
  const std::string dead_temp = "20251231T235959Z-1.txt." + std::to_string((1L << 22) + 1) + "-1.tmp";
  fs::create_directories(dir);
  { std::ofstream(dir + "/" + dead_temp) << "=== weft dump (SIGUSR1) cut short"; }

  CHECK(weft::write_dump_file(dir, "one\n", kWall, 2) == dir + "/" + base + ".txt");
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{base + ".txt"});  // the dead writer's temp is gone
  CHECK(weft::write_dump_file(dir, "two\n", kWall, 2) == dir + "/" + base + "-2.txt");
  CHECK(weft::write_dump_file(dir, "three\n", kWall, 2) == dir + "/" + base + "-3.txt");
  CHECK(weft::test::names_in(dir) == std::vector<std::string>{base + "-2.txt", base + "-3.txt"});
  CHECK(weft::test::read_file(dir + "/" + base + "-3.txt") == "three\n");
  fs::remove_all(fs::path(dir).parent_path());
}

// Checking that a name is free and then writing it let two writers pick
// the same name, and the second dump overwrote the first.
TEST_CASE("two threads dumping in the same second lose no dump", "[dump]") {
  const std::string dir = weft::test::temp_dir("weft-dumpfile");
  std::vector<std::string> paths[2];
  auto dumper = [&](int who) {
    for (int i = 0; i < 20; ++i)
      paths[who].push_back(weft::write_dump_file(dir, "dump " + std::to_string(who) + "." + std::to_string(i) + "\n",
                                                 kWall, 100));
  };
  std::thread a(dumper, 0), b(dumper, 1);
  a.join();
  b.join();
  std::set<std::string> distinct;
  for (int who = 0; who < 2; ++who)
    for (std::size_t i = 0; i < paths[who].size(); ++i) {
      distinct.insert(paths[who][i]);
      CHECK(weft::test::read_file(paths[who][i]) == "dump " + std::to_string(who) + "." + std::to_string(i) + "\n");
    }
  CHECK(distinct.size() == 40);
  CHECK(weft::test::names_in(dir).size() == 40);
  fs::remove_all(dir);
}

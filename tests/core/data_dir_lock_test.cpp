// The data-dir lock: one holder at a time (a second lock, even in this
// process, fails naming the holder's PID and the lock file), the PID is in
// the file, and the lock is free again once the holder lets go.
#include "weft/core/data_dir_lock.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include "support/files.hpp"

namespace {
}  // namespace

TEST_CASE("a second lock on a data dir fails naming the holder's PID", "[data_dir]") {
  const std::string dir = weft::test::temp_dir("weft-lock") + "/nested/data";  // created on the way
  const std::string pid = std::to_string(::getpid());
  {
    std::optional<weft::DataDirLock> first;
    first.emplace(dir);
    std::ifstream in(first->path());
    std::string content;
    std::getline(in, content);
    CHECK(content == pid);

    try {
      weft::DataDirLock second(dir);
      FAIL("the second lock succeeded");
    } catch (const weft::DataDirBusyError& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(e.holder_pid() == ::getpid());
      CHECK(what.find("in use by weftd PID " + pid) != std::string::npos);
      CHECK(what.find("lock file " + dir + "/weftd.lock") != std::string::npos);
      CHECK(what.find("data_dir") != std::string::npos);  // what to do
    }
  }
  weft::DataDirLock again(dir);  // released with the first
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path().parent_path());
}

TEST_CASE("a data dir that cannot be created is an error naming it", "[data_dir]") {
  const std::string dir = weft::test::temp_dir("weft-lock");
  std::ofstream(dir + "/file") << "x";
  try {
    weft::DataDirLock lock(dir + "/file/data");
    FAIL("locked a dir under a regular file");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(dir + "/file/data") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// The PID is written over the old content in place, then the file is cut
// to it (no new block needed on a full disk): a longer stale content leaves
// no tail behind.
TEST_CASE("the PID replaces a longer stale content exactly", "[data_dir]") {
  const std::string dir = weft::test::temp_dir("weft-lock");
  std::ofstream(dir + "/weftd.lock") << "4194304999\nleft over by something else\n";
  {
    weft::DataDirLock lock(dir);
    CHECK(lock.pid_error().empty());
    std::ifstream in(lock.path());
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == std::to_string(::getpid()) + "\n");
  }
  std::filesystem::remove_all(dir);
}

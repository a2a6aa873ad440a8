// The store's background quick_check thread (drivers/src/store/file_check.*)
// must never end the process or lose what stopped it: any exception on it
// (not only SqliteError: a bad_alloc, or the verdict's own callback
// throwing) is handed to `failed`, and if that throws too, to stderr.
// Before, only SqliteError was caught and anything else left the thread:
// std::terminate, the whole box down. On a real store file.
#include "../../drivers/src/store/file_check.hpp"

#include <atomic>
#include <mutex>
#include <new>
#include <stdexcept>

#include "store_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

struct FileCheckSeen {
  std::mutex mutex;
  std::optional<std::string> failed;
  std::atomic<int> done_calls{0};
};

std::string file_check_store(const TempDir& dir) {
  auto o = options_for(dir.file("readings.db"));
  o.background_check = false;
  boost::asio::io_context ioc;
  store::Store s(o);
  run_sync(ioc, s.open());
  for (int i = 0; i < 100; ++i) s.append(sample("p", std::int64_t{i}));
  REQUIRE(run_sync(ioc, s.flushed()) == 100);
  return o.path;
}

}  // namespace

TEST_CASE("store check: an exception other than SqliteError on the check thread is reported, not fatal",
          "[store][file_check]") {
  TempDir dir;
  const std::string path = file_check_store(dir);
  FileCheckSeen seen;
  {
    store::FileCheck check(
        path, "",
        [&](std::optional<std::string> found) {
          ++seen.done_calls;
          CHECK_FALSE(found);  // a healthy file
          throw std::bad_alloc();
        },
        [&](std::string why) {
          std::lock_guard lock(seen.mutex);
          seen.failed = std::move(why);
        });
    REQUIRE(eventually([&] {
      std::lock_guard lock(seen.mutex);
      return seen.failed.has_value();
    }));
  }
  CHECK(seen.done_calls == 1);
  CHECK(*seen.failed == std::bad_alloc().what());
}

TEST_CASE("store check: when reporting the failure throws too, the thread still ends quietly", "[store][file_check]") {
  TempDir dir;
  const std::string path = file_check_store(dir);
  std::atomic<int> failed_calls{0};
  {
    store::FileCheck check(
        path, "", [](std::optional<std::string>) { throw std::runtime_error("the verdict's callback threw"); },
        [&](std::string) {
          ++failed_calls;
          throw std::runtime_error("and so did the failure's");
        });
    REQUIRE(eventually([&] { return failed_calls.load() == 1; }));
  }  // joins: the thread ended (written to stderr), the process did not terminate
  CHECK(failed_calls == 1);
}

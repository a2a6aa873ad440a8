// Test support for the store: a private temp dir removed afterwards, a
// store opened in it, a coroutine run to completion on a private
// io_context (bounded), sample readings, and direct SQL on the file.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "../../drivers/src/store/sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "weft-store-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Runs `aw` on `ioc` until it finishes (at most `limit` of real time);
// rethrows its exception.
template <typename T>
T run_sync(boost::asio::io_context& ioc, boost::asio::awaitable<T> aw,
           std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, std::move(aw), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
  });
  ioc.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(50));
  if (!done) FAIL("the coroutine did not finish within " << limit.count() << " s");
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

inline void run_sync(boost::asio::io_context& ioc, boost::asio::awaitable<void> aw,
                     std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto wrap = [](boost::asio::awaitable<void> a) -> boost::asio::awaitable<bool> {
    co_await std::move(a);
    co_return true;
  };
  run_sync<bool>(ioc, wrap(std::move(aw)), limit);
}

inline Reading sample(std::string point, Value value, std::int64_t mono_ns = 1'000, std::int64_t wall_ns = 2'000) {
  return Reading{std::move(point), std::move(value), Quality::good, mono_ns, BootId::current(), wall_ns};
}

// Polls `pred` (real time, bounded): for state the writer thread reaches
// on its own (a batch by count, housekeeping).
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

inline store::StoreOptions options_for(const std::string& path) {
  store::StoreOptions o;
  o.path = path;
  o.batch_rows = 100;
  o.batch_age = std::chrono::milliseconds(5);
  o.busy_deadline = std::chrono::seconds(5);
  o.queue_capacity = 10'000;
  return o;
}

inline std::int64_t sql_int(const std::string& path, const std::string& query) {
  store::sql::Db db(path, store::sql::OpenMode::read_only);
  db.busy_timeout(5000);
  return db.query_int(query);
}

inline std::string sql_text(const std::string& path, const std::string& query) {
  store::sql::Db db(path, store::sql::OpenMode::read_only);
  db.busy_timeout(5000);
  store::sql::Statement st(db, query);
  return st.step() ? st.text(0) : std::string();
}

}  // namespace weft::test

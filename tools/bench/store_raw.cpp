// The raw baseline beside `weft-bench store`'s throughput figure (issue 15:
// weft's store against "a raw C loop of prepared inserts, one transaction
// per batch, same schema, same run"): the file is created by weft's own
// Store (so its schema, indexes and pragmas are exactly weft's), closed,
// and then filled by this loop over plain sqlite3 calls: the same pragmas
// as the store's writer (WAL, the synchronous setting, journal_size_limit),
// one prepared INSERT of the same columns and values, point and boot ids
// known up front, BEGIN..COMMIT per batch of --batch-rows. Nothing else:
// no queue, no thread hand-off, no seq mark, no ledger. What weft adds on
// top of this is the price of its guarantees; the ratio says how much.
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "benches.hpp"
#include "store_raw.hpp"
#include "weft/core/reading.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::bench {
namespace {

class RawDb {
public:
  explicit RawDb(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("raw baseline: cannot open " + path.string() + ": " + why);
    }
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close(db_); }

  void exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string why = error != nullptr ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error("raw baseline: " + sql + ": " + why);
    }
  }
  std::int64_t last_rowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const { return db_; }

private:
  sqlite3* db_ = nullptr;
};

class RawStatement {
public:
  RawStatement(RawDb& db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db.handle(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("raw baseline: cannot prepare ") + sql + ": " + sqlite3_errmsg(db.handle()));
  }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;
  ~RawStatement() { sqlite3_finalize(st_); }

  sqlite3_stmt* get() const { return st_; }
  void run() {
    if (sqlite3_step(st_) != SQLITE_DONE)
      throw std::runtime_error(std::string("raw baseline: insert failed: ") + sqlite3_errmsg(db_.handle()));
    sqlite3_reset(st_);
  }

private:
  RawDb& db_;
  sqlite3_stmt* st_ = nullptr;
};

// An empty store file made by weft's Store: its schema, as weftd makes it.
void create_with_weft_schema(const std::filesystem::path& db, store::StoreOptions::Synchronous sync) {
  store::StoreOptions o;
  o.path = db.string();
  o.synchronous = sync;
  boost::asio::io_context ioc;
  store::Store s(std::move(o));
  std::exception_ptr error;
  auto body = [&]() -> boost::asio::awaitable<void> { co_await s.open(); };
  boost::asio::co_spawn(ioc, body(), [&](std::exception_ptr e) { error = e; });
  ioc.run();
  if (error) std::rethrow_exception(error);
}

}  // namespace

RawResult raw_throughput(const StoreArgs& a, store::StoreOptions::Synchronous sync) {
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/weft-store-raw-XXXXXX", a.dir.c_str());
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error(std::string("cannot create a directory in ") + a.dir);
  const std::filesystem::path dir(tmpl);
  const std::filesystem::path path = dir / "raw.db";
  create_with_weft_schema(path, sync);
  RawResult r;
  {
    RawDb db(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(sync == store::StoreOptions::Synchronous::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA journal_size_limit = 4194304");
    std::int64_t point_ids[20];
    for (unsigned i = 0; i < 20; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "bench.p%02u", i);
      db.exec(std::string("INSERT INTO points(name) VALUES('") + name + "')");
      point_ids[i] = db.last_rowid();
    }
    db.exec("INSERT INTO boots(boot_id) VALUES('" + BootId::current().to_string() + "')");
    const std::int64_t boot = db.last_rowid();
    RawStatement insert(db, "INSERT INTO readings(seq, point, kind, value, quality, mono_ns, boot, wall_ns) "
                            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    const auto rows = static_cast<std::uint64_t>(a.throughput_rows);
    const auto batch = static_cast<std::uint64_t>(a.batch_rows);
    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t seq = 1; seq <= rows;) {
      db.exec("BEGIN");
      for (std::uint64_t n = 0; n < batch && seq <= rows; ++n, ++seq) {
        const std::uint64_t i = seq - 1;  // the same values as the weft run's reading(i)
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        sqlite3_stmt* st = insert.get();
        sqlite3_bind_int64(st, 1, static_cast<std::int64_t>(seq));
        sqlite3_bind_int64(st, 2, point_ids[i % 20]);
        sqlite3_bind_int64(st, 3, 0);  // kind: a double
        sqlite3_bind_double(st, 4, 20.0 + static_cast<double>(i % 1000) * 0.01);
        sqlite3_bind_int64(st, 5, static_cast<std::int64_t>(Quality::good));
        sqlite3_bind_int64(st, 6, now);
        sqlite3_bind_int64(st, 7, boot);
        sqlite3_bind_int64(st, 8, now);
        insert.run();
      }
      db.exec("COMMIT");
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    r.rows = rows;
  }
  std::filesystem::remove_all(dir);
  return r;
}

}  // namespace weft::bench

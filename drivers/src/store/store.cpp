// Store: the public face of the store (weft/drivers/store/store.hpp). It
// glues the writer thread (writer.cpp), the reader thread (reader.cpp) and
// the counters; every awaitable is a Completion handed to one of the two
// threads, so nothing here touches SQLite on the caller's thread.
#include "weft/drivers/store/store.hpp"

#include <future>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "completion.hpp"
#include "counters.hpp"
#include "query.hpp"
#include "reader.hpp"
#include "writer.hpp"
#include "weft/core/log.hpp"

namespace weft::store {
namespace {

bool check_read_connection(sql::Db& db) {
  db.query_int("SELECT count(*) FROM schema_version");
  return true;
}

// open()'s check of the read connection failed (an I/O error reading the
// file, say): a StoreError like the writer's, so the caller's handling of
// a failed open (record degrades and retries) applies, not an escape.
StoreError read_check_failed(const sql::SqliteError& e) {
  return StoreError(std::string(e.what()) +
                    "; the store's read connection could not read the file it opened (upload and the console read "
                    "through it): check the storage (dmesg); the open is retried");
}

// What a read met, for the writer's report (its lines name the path already).
std::string read_damage(const std::string& what, const std::string& path, const char* by) {
  return std::string("a read by ") + by + " met: " + (what.rfind(path + ": ", 0) == 0 ? what.substr(path.size() + 2) : what);
}

}  // namespace

struct Store::Impl {
  // No threads, no I/O yet: the writer's thread starts at open(), the
  // reader's at its first query. (The logger follows later level changes.)
  explicit Impl(StoreOptions o)
      : options(std::move(o)),
        writer_(std::make_unique<Writer>(options, counters, logging::make_logger("store"))),
        reader_(std::make_unique<Reader>(options.path, options.vfs)) {}

  Writer& writer() { return *writer_; }
  Reader& reader() { return *reader_; }

  // Runs `query(db)` on the reader thread; resumes the caller with its result.
  template <typename T, typename Query>
  boost::asio::awaitable<T> read(Query query) {
    if (!writer_->is_open())
      throw StoreError(options.path + ": the store is not open (call open() first)");
    co_return co_await Completion<T>::wait([this, query = std::move(query)](std::shared_ptr<Completion<T>> done) {
      reader().submit([this, done, query, path = options.path](sql::Db* db) {
        if (db == nullptr)
          return done->fail(std::make_exception_ptr(StoreError(path + ": the store's read connection is closed")));
        done->complete_with([&] {
          try {
            return query(*db);
          } catch (const sql::SqliteError& e) {
            // The writer's connection may never read these pages: tell it,
            // so the box does not run on a corrupt file (the store fails
            // and the next open moves the file aside).
            if (e.is_corrupt()) writer_->report_corrupt(read_damage(e.what(), path, "upload"), reader_->file());
            throw;
          }
        });
      });
    });
  }

  StoreOptions options;
  AtomicCounters counters;
  // Destruction order: the reader first (it only reads), then the writer,
  // which commits what it still holds.
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<Reader> reader_;
};

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->options.path.empty()) throw StoreError("store: no path given; set [store] path to the database file");
  if (impl_->options.batch_rows == 0 || impl_->options.queue_capacity == 0)
    throw StoreError(impl_->options.path + ": batch_rows and queue_capacity must be at least 1");
}

Store::~Store() {
  impl_->reader_.reset();
  impl_->writer_.reset();
}

const StoreOptions& Store::options() const noexcept { return impl_->options; }

boost::asio::awaitable<void> Store::open() {
  if (is_open()) co_return;
  Writer& writer = impl_->writer();
  co_await Completion<bool>::wait([&writer](std::shared_ptr<Completion<bool>> done) {
    writer.open([done](std::exception_ptr error) { error ? done->fail(error) : done->complete_value(true); });
  });
  impl_->reader().reopen();  // the file may be a new one (a corrupt one moved aside)
  // Open the read connection now, so a problem with it shows at open().
  try {
    co_await impl_->read<bool>(check_read_connection);
  } catch (const sql::SqliteError& e) {
    throw read_check_failed(e);
  }
}

void Store::open_blocking() {
  if (is_open()) return;
  std::promise<void> opened;
  impl_->writer().open([&opened](std::exception_ptr error) {
    error ? opened.set_exception(error) : opened.set_value();
  });
  opened.get_future().get();
  impl_->reader().reopen();
  std::promise<void> readable;
  impl_->reader().submit([&readable, path = impl_->options.path](sql::Db* db) {
    try {
      if (db == nullptr) throw StoreError(path + ": cannot open the read-only connection");
      check_read_connection(*db);
      readable.set_value();
    } catch (const sql::SqliteError& e) {
      readable.set_exception(std::make_exception_ptr(read_check_failed(e)));
    } catch (...) {
      readable.set_exception(std::current_exception());
    }
  });
  readable.get_future().get();
}

bool Store::is_open() const noexcept { return impl_->writer_->is_open(); }
bool Store::accepting() const noexcept { return impl_->writer_->accepting(); }

std::uint64_t Store::append(const Reading& reading) {
  if (!impl_->writer_->accepting()) throw std::logic_error(impl_->options.path + ": Store::append before open()");
  return impl_->writer_->append(reading);
}

std::uint64_t Store::append_lost(std::uint64_t count, std::string why) {
  if (!impl_->writer_->accepting()) throw std::logic_error(impl_->options.path + ": Store::append_lost before open()");
  return impl_->writer_->append_lost(count, std::move(why));
}

void Store::append_put(PutRecord record) {
  if (!impl_->writer_->accepting()) throw std::logic_error(impl_->options.path + ": Store::append_put before open()");
  impl_->writer_->put(std::move(record));
}

void Store::record_clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns) {
  if (!impl_->writer_->accepting())
    throw std::logic_error(impl_->options.path + ": Store::record_clock_event before open()");
  impl_->writer_->clock_event(boot, mono_ns, offset_ns);
}

boost::asio::awaitable<std::uint64_t> Store::flushed() {
  if (!is_open()) throw StoreError(impl_->options.path + ": the store is not open (call open() first)");
  Writer& writer = *impl_->writer_;
  co_return co_await Completion<std::uint64_t>::wait(
      [&writer](std::shared_ptr<Completion<std::uint64_t>> done) { writer.when_flushed(std::move(done)); });
}

boost::asio::awaitable<std::string> Store::failure() {
  Writer& writer = *impl_->writer_;
  co_return co_await Completion<std::string>::wait(
      [&writer](std::shared_ptr<Completion<std::string>> done) { writer.when_failed(std::move(done)); });
}

StoreHealth Store::health() const { return impl_->writer_->health(); }

const char* to_string(StoreHealth::State s) noexcept {
  switch (s) {
    case StoreHealth::State::open: return "open";
    case StoreHealth::State::failed: return "failed";
    case StoreHealth::State::closed: break;
  }
  return "closed";
}

std::uint64_t Store::committed_seq() const noexcept {
  return impl_->counters.committed_seq.load(std::memory_order_acquire);
}

boost::asio::awaitable<std::vector<StoredReading>> Store::undelivered(std::uint64_t after_seq, std::size_t limit) {
  co_return co_await impl_->read<std::vector<StoredReading>>(
      [after_seq, limit](sql::Db& db) { return Reader::undelivered(db, after_seq, limit); });
}

boost::asio::awaitable<std::vector<StoredReading>> Store::newest_undelivered(std::size_t limit) {
  co_return co_await impl_->read<std::vector<StoredReading>>(
      [limit](sql::Db& db) { return Reader::newest_undelivered(db, limit); });
}

boost::asio::awaitable<void> Store::mark_delivered(std::uint64_t first_seq, std::uint64_t last_seq) {
  if (!is_open()) throw StoreError(impl_->options.path + ": the store is not open (call open() first)");
  Writer& writer = *impl_->writer_;
  co_await Completion<bool>::wait([&writer, first_seq, last_seq](std::shared_ptr<Completion<bool>> done) {
    writer.mark_delivered(first_seq, last_seq, std::move(done));
  });
}

boost::asio::awaitable<std::optional<std::int64_t>> Store::wall_offset(BootId boot) {
  co_return co_await impl_->read<std::optional<std::int64_t>>(
      [boot](sql::Db& db) { return Reader::wall_offset(db, boot); });
}

boost::asio::awaitable<std::vector<Gap>> Store::gaps() {
  co_return co_await impl_->read<std::vector<Gap>>([](sql::Db& db) { return Reader::gaps(db); });
}

boost::asio::awaitable<std::vector<std::pair<std::uint64_t, std::uint64_t>>> Store::delivered_ranges() {
  co_return co_await impl_->read<std::vector<std::pair<std::uint64_t, std::uint64_t>>>(
      [](sql::Db& db) { return Reader::delivered(db).ranges(); });
}

// On the reader's connection rather than a dedicated one: it is already
// read-only and on its own thread, and a query is bounded by its timeout,
// so the upload's queries wait at most that long behind it.
//
// Not through Impl::read: the lambda handed to Completion::wait captures
// only references (it runs during the initiation), because GCC 12 destroys
// a coroutine's by-value lambda parameter twice when it owns a std::string
// (a double free seen here); the job copies the statement itself.
boost::asio::awaitable<QueryResult> Store::query(std::string statement, QueryLimits limits) {
  if (!is_open()) throw StoreError(impl_->options.path + ": the store is not open (call open() first)");
  Reader& reader = impl_->reader();
  Writer& writer = impl_->writer();
  const std::string& path = impl_->options.path;
  co_return co_await Completion<QueryResult>::wait(
      [&reader, &writer, &statement, &limits, &path](std::shared_ptr<Completion<QueryResult>> done) {
        reader.submit([&reader, &writer, done, statement, limits, path](sql::Db* db) {
          if (db == nullptr)
            return done->fail(std::make_exception_ptr(StoreError(path + ": the store's read connection is closed")));
          done->complete_with([&] {
            try {
              return run_query(*db, statement, limits);
            } catch (const CorruptQuery& e) {
              writer.report_corrupt(read_damage(e.found(), path, "the console's sql"), reader.file());
              throw;
            }
          });
        });
      });
}

StoreCounters Store::counters() const {
  const AtomicCounters& c = impl_->counters;
  constexpr auto relaxed = std::memory_order_relaxed;
  StoreCounters out;
  out.rows_written = c.rows_written.load(relaxed);
  out.batches = c.batches.load(relaxed);
  out.busy_retries = c.busy_retries.load(relaxed);
  out.busy_episodes = c.busy_episodes.load(relaxed);
  out.pruned_delivered = c.pruned_delivered.load(relaxed);
  out.pruned_undelivered = c.pruned_undelivered.load(relaxed);
  out.dropped = c.dropped.load(relaxed);
  out.disk_full = c.disk_full.load(relaxed);
  out.db_size_bytes = c.db_size_bytes.load(relaxed);
  out.last_commit_latency = Duration(c.last_commit_latency_ns.load(relaxed));
  out.queue_depth = impl_->writer_->queue_depth();
  out.committed_seq = c.committed_seq.load(std::memory_order_acquire);
  return out;
}

const char* to_string(StoreOptions::Synchronous s) noexcept {
  return s == StoreOptions::Synchronous::full ? "full" : "normal";
}

}  // namespace weft::store

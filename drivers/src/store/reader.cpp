// The read-only side of the store: see reader.hpp.
#include "reader.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "rows.hpp"
#include "weft/core/realtime.hpp"

namespace weft::store {
namespace {

constexpr auto kMaxSeq = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// Appends rows of `st` (already bound) to `out`; returns how many.
std::size_t collect(sql::Statement& st, std::vector<StoredReading>& out) {
  std::size_t n = 0;
  while (st.step()) {
    out.push_back(read_reading(st));
    ++n;
  }
  st.reset();
  return n;
}

}  // namespace

Reader::Reader(std::string path, std::string vfs) : path_(std::move(path)), vfs_(std::move(vfs)) {}

Reader::~Reader() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : jobs_) job(nullptr);
}

void Reader::submit(std::function<void(sql::Db*)> job) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      if (!thread_.joinable())
        thread_ = std::thread([this] {
          enter_helper_thread("weft-store-r");  // started from the loop: not its real-time policy or CPUs (realtime.hpp)
          run();
        });
      job = nullptr;
    }
  }
  if (job) return job(nullptr);
  wake_.notify_one();
}

void Reader::run() {
  for (;;) {
    std::function<void(sql::Db*)> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    sql::Db* db = nullptr;
    try {
      const std::uint64_t generation = generation_.load(std::memory_order_relaxed);
      if (db_ && open_generation_ != generation) db_.reset();
      if (!db_) {
        open_generation_ = generation;
        file_.reset();
        db_.emplace(path_, sql::OpenMode::read_only, vfs_);
        db_->busy_timeout(2000);  // a reader waits only for WAL recovery: bounded and rare
        file_ = FileId::of(path_);
      }
      db = &*db_;
    } catch (...) {
      db = nullptr;  // the job reports "not open"
    }
    job(db);
  }
  db_.reset();
}

std::vector<StoredReading> Reader::undelivered(sql::Db& db, std::uint64_t after_seq, std::size_t limit) {
  std::vector<StoredReading> out;
  sql::Transaction tx(db, sql::Transaction::Kind::read);
  const RangeSet done = delivered(db);
  sql::Statement st(db, std::string(kSelectReading) + "WHERE r.seq BETWEEN ?1 AND ?2 ORDER BY r.seq LIMIT ?3");
  std::uint64_t cursor = after_seq + 1;
  while (out.size() < limit && cursor <= kMaxSeq) {
    if (auto range = done.find(cursor)) {
      cursor = range->second + 1;
      continue;
    }
    // Rows from cursor up to the next delivered range.
    const auto next = done.next_start_after(cursor);
    const std::uint64_t upper = next ? *next - 1 : kMaxSeq;
    st.bind(1, static_cast<std::int64_t>(cursor)).bind(2, static_cast<std::int64_t>(upper));
    st.bind(3, static_cast<std::int64_t>(limit - out.size()));
    collect(st, out);
    if (!next) break;
    cursor = *next;
  }
  tx.commit();
  return out;
}

std::vector<StoredReading> Reader::newest_undelivered(sql::Db& db, std::size_t limit) {
  std::vector<StoredReading> out;
  sql::Transaction tx(db, sql::Transaction::Kind::read);
  const RangeSet done = delivered(db);
  sql::Statement st(db, std::string(kSelectReading) + "WHERE r.seq BETWEEN ?1 AND ?2 ORDER BY r.seq DESC LIMIT ?3");
  auto cursor = static_cast<std::uint64_t>(db.query_int("SELECT coalesce(max(seq), 0) FROM readings"));
  while (out.size() < limit && cursor > 0) {
    if (auto range = done.find(cursor)) {
      cursor = range->first - 1;
      continue;
    }
    // Rows from the end of the previous delivered range up to cursor.
    const auto prev = done.prev_end_before(cursor);
    const std::uint64_t lower = prev ? *prev + 1 : 1;
    st.bind(1, static_cast<std::int64_t>(lower)).bind(2, static_cast<std::int64_t>(cursor));
    st.bind(3, static_cast<std::int64_t>(limit - out.size()));
    collect(st, out);
    if (!prev) break;
    cursor = *prev;
  }
  tx.commit();
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<Gap> Reader::gaps(sql::Db& db) {
  std::vector<Gap> out;
  sql::Statement st(db, "SELECT first_seq, last_seq, why FROM lost ORDER BY first_seq");
  while (st.step())
    out.push_back(Gap{static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)), st.text(2)});
  return out;
}

std::optional<std::int64_t> Reader::wall_offset(sql::Db& db, const BootId& boot) {
  sql::Statement st(db, "SELECT c.offset_ns FROM clock_events c JOIN boots b ON b.id = c.boot "
                        "WHERE b.boot_id = ?1 ORDER BY c.mono_ns DESC LIMIT 1");
  st.bind_text(1, boot.to_string());
  if (!st.step()) return std::nullopt;
  return st.int64(0);
}

RangeSet Reader::delivered(sql::Db& db) {
  RangeSet out;
  sql::Statement st(db, "SELECT first_seq, last_seq FROM delivered ORDER BY first_seq");
  while (st.step()) out.insert(static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)));
  return out;
}

}  // namespace weft::store

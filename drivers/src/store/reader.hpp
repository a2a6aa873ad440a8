// The store's reader: one thread that owns a read-only connection and
// answers the upload side's queries (undelivered rows, gaps, clock
// offsets) without waiting behind the writer's batches (WAL lets a reader
// run beside the writer). Each query runs in one read transaction, so it
// sees one consistent snapshot.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "file_id.hpp"
#include "range_set.hpp"
#include "sqlite_db.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::store {

class Reader {
public:
  Reader(std::string path, std::string vfs);
  ~Reader();  // finishes the query in hand, abandons queued ones (job(nullptr)), joins
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Loop thread: queues `job`, run on the reader thread with the connection
  // (opened on first use; null when the reader is closing).
  void submit(std::function<void(sql::Db*)> job);
  // Any thread: the next job opens a fresh connection (the writer may have
  // moved a corrupt file aside and started a new one under the same name).
  void reopen() noexcept { generation_.fetch_add(1, std::memory_order_relaxed); }
  // Reader thread (inside a job): the file the connection handed to the job
  // reads (stat'ed when it was opened), for a report of damage it met.
  std::optional<FileId> file() const noexcept { return file_; }

  // ---- queries, reader thread (each in its own read transaction) ----
  static std::vector<StoredReading> undelivered(sql::Db& db, std::uint64_t after_seq, std::size_t limit);
  static std::vector<StoredReading> newest_undelivered(sql::Db& db, std::size_t limit);
  static std::vector<Gap> gaps(sql::Db& db);
  static std::optional<std::int64_t> wall_offset(sql::Db& db, const BootId& boot);
  static RangeSet delivered(sql::Db& db);

private:
  void run();

  std::string path_;
  std::string vfs_;
  std::atomic<std::uint64_t> generation_{0};  // bumped by reopen()
  std::uint64_t open_generation_ = 0;          // reader thread: generation_ when db_ was opened
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(sql::Db*)>> jobs_;  // one per awaiting caller
  bool stopping_ = false;
  std::optional<sql::Db> db_;  // reader thread only
  std::optional<FileId> file_;  // reader thread only: what db_ was opened on
  std::thread thread_;
};

}  // namespace weft::store

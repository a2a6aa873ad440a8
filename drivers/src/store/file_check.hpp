// The store's background integrity check: PRAGMA quick_check on a
// read-only connection of its own, on a thread of its own, started after
// the writer has opened the file. quick_check reads every page (O(file
// size)), and SQLite 3.40 walks the b-trees inside one VM step where no
// progress handler runs, so at open it could not be bounded: on a slow card
// it took the open past record's start timeout. Here it costs nothing to
// the open and nothing to the loop; its verdict reaches the writer through
// `done` (called on the check thread, once, only for a check that ran to
// the end: an interrupted walk reports pages it never reached as unused,
// which is not damage).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

struct sqlite3;

namespace weft::store {

class FileCheck {
public:
  // `done(found)`: nullopt for a healthy file, else what quick_check (or the
  // SQLITE_CORRUPT/NOTADB that stopped it) said. Not called when stopped
  // first or when the check could not run: `failed(why)` is told instead,
  // for any error or exception (a bad_alloc, or `done` itself throwing);
  // if `failed` throws too, the thread writes both to stderr. Nothing
  // escapes the thread.
  using Done = std::function<void(std::optional<std::string> found)>;
  using Failed = std::function<void(std::string why)>;
  FileCheck(std::string path, std::string vfs, Done done, Failed failed);
  ~FileCheck();  // interrupts the check (sqlite3_interrupt) and joins: returns within about one read
  FileCheck(const FileCheck&) = delete;
  FileCheck& operator=(const FileCheck&) = delete;

private:
  void run();    // the thread: check(), and every exception to report_failure()
  void check();  // the quick_check and its verdict (done_ or failed_)
  void report_failure(const std::string& why) noexcept;

  const std::string path_;
  const std::string vfs_;
  Done done_;
  Failed failed_;
  std::mutex mutex_;        // guards handle_ against the connection closing during an interrupt
  sqlite3* handle_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;  // last: started after everything above exists
};

}  // namespace weft::store

// The background quick_check: see file_check.hpp.
#include "file_check.hpp"

#include <cstdio>
#include <exception>

#include <sqlite3.h>

#include "sqlite_db.hpp"
#include "weft/core/realtime.hpp"

namespace weft::store {

FileCheck::FileCheck(std::string path, std::string vfs, Done done, Failed failed)
    : path_(std::move(path)), vfs_(std::move(vfs)), done_(std::move(done)), failed_(std::move(failed)) {
  thread_ = std::thread([this] {
    enter_helper_thread("weft-store-chk");  // started from the loop: not its real-time policy or CPUs (realtime.hpp)
    run();
  });
}

FileCheck::~FileCheck() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (handle_) sqlite3_interrupt(handle_);  // safe from another thread while the connection is open
  }
  thread_.join();
}

void FileCheck::run() {
  // Nothing may leave this thread as an exception (it would terminate the
  // box) or vanish: whatever stops the check, a bad_alloc or a callback
  // that throws included, reaches `failed`, and if even that throws, stderr.
  try {
    check();
  } catch (const std::exception& e) {
    report_failure(e.what());
  } catch (...) {
    report_failure("an unknown exception");
  }
}

void FileCheck::report_failure(const std::string& why) noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // being stopped: no verdict is wanted
    }
    failed_(why);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: the background quick_check failed (%s), and so did reporting it (%s)\n", path_.c_str(),
                 why.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: the background quick_check failed (%s), and so did reporting it\n", path_.c_str(),
                 why.c_str());
  }
}

void FileCheck::check() {
  std::optional<std::string> found;
  std::string error;
  try {
    sql::Db db(path_, sql::OpenMode::read_only, vfs_);
    // Declared after db, so destroyed before it: the handle is withdrawn
    // from interrupts before the connection closes, on every way out.
    struct Published {
      FileCheck& self;
      ~Published() {
        std::lock_guard lock(self.mutex_);
        self.handle_ = nullptr;
      }
    } published{*this};
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      handle_ = db.handle();
    }
    try {
      std::string lines;
      sql::Statement st(db, "PRAGMA quick_check(3)");
      while (st.step()) {
        const std::string line = st.text(0);
        if (line == "ok") break;
        lines += (lines.empty() ? "" : "; ") + line;
      }
      if (!lines.empty()) found = "quick_check: " + lines;
    } catch (const sql::SqliteError& e) {
      if (!e.is_corrupt()) throw;
      const std::string what = e.what();  // without the leading "<path>: " (the writer's lines name it)
      found = "quick_check: " + (what.rfind(path_ + ": ", 0) == 0 ? what.substr(path_.size() + 2) : what);
    }
  } catch (const sql::SqliteError& e) {
    error = e.what();
  }
  {
    // Only this object interrupts the check: stopping_ says whether the
    // walk ran to its end (an interrupted one is no verdict).
    std::lock_guard lock(mutex_);
    if (stopping_) return;
  }
  if (!error.empty()) return failed_(error);
  done_(found);
}

}  // namespace weft::store

// A power cut for SQLite, in a test: the VFS "crashsim" wraps the default
// (unix) VFS and keeps, per file, an undo log of every write and truncate
// since that file's last xSync. crash() (or crash_at(n): at the nth write,
// truncate or sync from now) makes every later write, truncate, sync and
// delete fail (the machine is off: nothing more reaches the disk);
// restore(), once every connection is closed, rolls each file back to its
// state at its last sync, which is what a power cut leaves of data that was
// written but never fsynced. Reads always see the live file (the page cache).
// Only for tests; one instance per process (SQLite keeps the VFS by name).
// The forwarding boilerplate is store_vfs_shim.hpp's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store_vfs_shim.hpp"

namespace weft::test {

class CrashVfs : public VfsShim {
public:
  static CrashVfs& instance() {
    static CrashVfs vfs;
    return vfs;
  }
  static constexpr const char* kName = "crashsim";

  void crash() { crashed_.store(true); }
  bool crashed() const { return crashed_.load(); }
  // A power cut at the `n`th write, truncate or sync from now (1: the next
  // one): that call fails, and so does everything after it, as after
  // crash(). `at_cut` runs once, at the instant of the cut, on the thread
  // of that call (a test saves there what else the cut freezes: a file
  // written without SQLite). 0: no cut (only counting).
  void crash_at(std::uint64_t n, std::function<void()> at_cut = {}) {
    std::lock_guard lock(mutex_);
    cut_at_ = n;
    changes_ = 0;
    at_cut_ = std::move(at_cut);
  }
  // Writes, truncates and syncs since the last crash_at(), the cut's own included.
  std::uint64_t changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  // Successful xSync calls so far on files whose name ends with `suffix`
  // (e.g. "-wal": what a commit needs to be durable under synchronous = normal).
  std::uint64_t syncs_of(const std::string& suffix) const {
    std::lock_guard lock(mutex_);
    const auto it = syncs_.find(suffix);
    return it == syncs_.end() ? 0 : it->second;
  }
  // Rolls every file back to its last sync; the VFS works normally again.
  void restore() {
    std::lock_guard lock(mutex_);
    for (auto& [path, f] : files_) {
      if (!f.tracking) continue;
      const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) continue;
      for (auto it = f.undo.rbegin(); it != f.undo.rend(); ++it)
        (void)!::pwrite(fd, it->second.data(), it->second.size(), static_cast<off_t>(it->first));
      (void)!::ftruncate(fd, static_cast<off_t>(f.synced_size));
      ::close(fd);
    }
    files_.clear();
    cut_at_ = 0;
    at_cut_ = nullptr;
    crashed_.store(false);
  }
  // The disk answers again without a power cut (a transient I/O fault):
  // later writes go through; nothing is rolled back.
  void heal() { crashed_.store(false); }
  // A slow card: every read waits this long first (0: none).
  void set_read_delay(std::chrono::microseconds d) { read_delay_us_.store(d.count()); }
  // xRead calls so far, every file and connection of this VFS.
  std::uint64_t reads() const { return reads_.load(); }
  std::size_t unsynced_writes() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [path, f] : files_) n += f.writes;
    return n;
  }

private:
  struct FileState {
    bool tracking = false;        // writes since the last sync
    sqlite3_int64 synced_size = 0;
    std::vector<std::pair<sqlite3_int64, std::string>> undo;  // offset, bytes before the write
    std::size_t writes = 0;
  };
  CrashVfs() : VfsShim(kName) {}

  int on_read(File& f, void* buf, int n, sqlite3_int64 off) override {
    reads_.fetch_add(1);
    if (const auto us = read_delay_us_.load(); us > 0) ::usleep(static_cast<useconds_t>(us));
    return VfsShim::on_read(f, buf, n, off);
  }
  // Counts a write, truncate or sync; true if the power is off for it.
  bool cut_now() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mutex_);
      if (crashed_.load()) return true;
      ++changes_;
      if (cut_at_ == 0 || changes_ < cut_at_) return false;
      crashed_.store(true);
      cut_at_ = 0;
      hook = std::move(at_cut_);
    }
    if (hook) hook();
    return true;
  }

  int on_write(File& f, const void* buf, int n, sqlite3_int64 off) override {
    if (cut_now()) return SQLITE_IOERR_WRITE;
    before_change(&f, off, n);
    return VfsShim::on_write(f, buf, n, off);
  }
  int on_truncate(File& f, sqlite3_int64 size) override {
    if (cut_now()) return SQLITE_IOERR_TRUNCATE;
    sqlite3_int64 current = 0;
    f.real->pMethods->xFileSize(f.real, &current);
    if (size < current) before_change(&f, size, static_cast<int>(current - size));
    return VfsShim::on_truncate(f, size);
  }
  int on_sync(File& f, int flags) override {
    if (cut_now()) return SQLITE_IOERR_FSYNC;
    const int rc = VfsShim::on_sync(f, flags);
    if (rc == SQLITE_OK && f.path) {
      std::lock_guard lock(mutex_);
      files_.erase(f.path);
      const std::string path(f.path);
      for (const char* suffix : {"-wal", "-journal", ""}) {
        const std::string sfx(suffix);
        if (path.size() >= sfx.size() && path.compare(path.size() - sfx.size(), sfx.size(), sfx) == 0) {
          ++syncs_[sfx];
          break;
        }
      }
    }
    return rc;
  }
  int on_delete(const char* name, int sync_dir) override {
    if (crashed()) return SQLITE_IOERR_DELETE;
    {
      std::lock_guard lock(mutex_);
      files_.erase(name);
    }
    return VfsShim::on_delete(name, sync_dir);
  }

  // Saves what [off, off + n) holds below the synced size before it changes.
  void before_change(File* file, sqlite3_int64 off, int n) {
    if (!file->path) return;  // temp files: not durable anyway
    std::lock_guard lock(mutex_);
    FileState& st = files_[file->path];
    if (!st.tracking) {
      st.tracking = true;
      file->real->pMethods->xFileSize(file->real, &st.synced_size);
    }
    ++st.writes;
    if (off >= st.synced_size) return;
    const sqlite3_int64 end = std::min<sqlite3_int64>(off + n, st.synced_size);
    std::string old(static_cast<std::size_t>(end - off), '\0');
    // Through the open file, never a second descriptor: closing one would
    // drop the process's POSIX locks on the file (SQLite's locks).
    (void)file->real->pMethods->xRead(file->real, old.data(), static_cast<int>(old.size()), off);
    st.undo.emplace_back(off, std::move(old));
  }

  std::atomic<bool> crashed_{false};
  std::atomic<std::int64_t> read_delay_us_{0};
  std::atomic<std::uint64_t> reads_{0};
  mutable std::mutex mutex_;
  std::map<std::string, FileState> files_;
  std::uint64_t cut_at_ = 0;   // crash_at(): the change that cuts the power (0: none)
  std::uint64_t changes_ = 0;  // writes, truncates, syncs since crash_at()
  std::function<void()> at_cut_;
  std::map<std::string, std::uint64_t> syncs_;  // successful syncs by suffix ("-wal", "-journal", "": others)
};

}  // namespace weft::test

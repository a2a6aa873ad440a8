// A power cut for SQLite, in a test: the VFS "crashsim" wraps the default
// (unix) VFS and keeps, per file, an undo log of every write and truncate
// since that file's last xSync. crash() makes every later write, truncate,
// sync and delete fail (the machine is off: nothing more reaches the disk);
// restore(), once every connection is closed, rolls each file back to its
// state at its last sync, which is what a power cut leaves of data that was
// written but never fsynced. Reads always see the live file (the page cache).
// Only for tests; one instance per process (SQLite keeps the VFS by name).
#pragma once

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace weft::test {

class CrashVfs {
public:
  static CrashVfs& instance() {
    static CrashVfs vfs;
    return vfs;
  }
  static constexpr const char* kName = "crashsim";

  void crash() { crashed_.store(true); }
  bool crashed() const { return crashed_.load(); }
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
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    const char* path;  // SQLite keeps zName alive while the file is open
  };

  CrashVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = kName;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &x_open;
    vfs_.xDelete = &x_delete;
    methods_.iVersion = 3;
    methods_.xClose = [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      const int rc = file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
      return rc;
    };
    methods_.xRead = [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
      auto* file = reinterpret_cast<File*>(f);
      instance().reads_.fetch_add(1);
      if (const auto us = instance().read_delay_us_.load(); us > 0) ::usleep(static_cast<useconds_t>(us));
      return file->real->pMethods->xRead(file->real, buf, n, off);
    };
    methods_.xWrite = [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
      auto* file = reinterpret_cast<File*>(f);
      CrashVfs& self = instance();
      if (self.crashed()) return SQLITE_IOERR_WRITE;
      self.before_change(file, off, n);
      return file->real->pMethods->xWrite(file->real, buf, n, off);
    };
    methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      auto* file = reinterpret_cast<File*>(f);
      CrashVfs& self = instance();
      if (self.crashed()) return SQLITE_IOERR_TRUNCATE;
      sqlite3_int64 current = 0;
      file->real->pMethods->xFileSize(file->real, &current);
      if (size < current) self.before_change(file, size, static_cast<int>(current - size));
      return file->real->pMethods->xTruncate(file->real, size);
    };
    methods_.xSync = [](sqlite3_file* f, int flags) {
      auto* file = reinterpret_cast<File*>(f);
      CrashVfs& self = instance();
      if (self.crashed()) return SQLITE_IOERR_FSYNC;
      const int rc = file->real->pMethods->xSync(file->real, flags);
      if (rc == SQLITE_OK && file->path) {
        std::lock_guard lock(self.mutex_);
        self.files_.erase(file->path);
      }
      return rc;
    };
    methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xFileSize(file->real, size);
    };
    methods_.xLock = [](sqlite3_file* f, int l) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xLock(file->real, l);
    };
    methods_.xUnlock = [](sqlite3_file* f, int l) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xUnlock(file->real, l);
    };
    methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xCheckReservedLock(file->real, out);
    };
    methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xFileControl(file->real, op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xSectorSize(file->real);
    };
    methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xDeviceCharacteristics(file->real);
    };
    methods_.xShmMap = [](sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xShmMap(file->real, pg, sz, extend, pp);
    };
    methods_.xShmLock = [](sqlite3_file* f, int off, int n, int flags) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xShmLock(file->real, off, n, flags);
    };
    methods_.xShmBarrier = [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      file->real->pMethods->xShmBarrier(file->real);
    };
    methods_.xShmUnmap = [](sqlite3_file* f, int del) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods->xShmUnmap(file->real, del);
    };
    // No memory-mapped I/O: every page goes through xRead/xWrite.
    methods_.xFetch = [](sqlite3_file*, sqlite3_int64, int, void** pp) {
      *pp = nullptr;
      return SQLITE_OK;
    };
    methods_.xUnfetch = [](sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; };
    sqlite3_vfs_register(&vfs_, 0);
  }

  static int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    auto& self = *static_cast<CrashVfs*>(vfs->pAppData);
    auto* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    file->path = name;
    const int rc = self.real_->xOpen(self.real_, name, file->real, flags, out_flags);
    file->base.pMethods = rc == SQLITE_OK ? &self.methods_ : nullptr;
    return rc;
  }

  static int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    auto& self = *static_cast<CrashVfs*>(vfs->pAppData);
    if (self.crashed()) return SQLITE_IOERR_DELETE;
    {
      std::lock_guard lock(self.mutex_);
      self.files_.erase(name);
    }
    return self.real_->xDelete(self.real_, name, sync_dir);
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

  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  std::atomic<bool> crashed_{false};
  std::atomic<std::int64_t> read_delay_us_{0};
  std::atomic<std::uint64_t> reads_{0};
  mutable std::mutex mutex_;
  std::map<std::string, FileState> files_;
};

}  // namespace weft::test

// The boilerplate of a test VFS for SQLite: VfsShim registers a VFS under
// its own name that forwards every call to the default (unix) VFS, and a
// subclass overrides only the hooks it needs (open, delete, read, write,
// truncate, sync). The power-cut VFS (store_crash_vfs.hpp) and the fault
// VFS (store_fault_vfs.hpp) are built on it. Memory-mapped I/O is off, so
// every page goes through xRead/xWrite and the hooks see all of it. Only
// for tests; each VFS is a process-wide singleton (SQLite keeps it by
// name) and is never unregistered.
#pragma once

#include <sqlite3.h>

namespace weft::test {

class VfsShim {
public:
  // An open file: SQLite's handle, the unix VFS's one behind it, its name.
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    const char* path;  // SQLite keeps zName alive while the file is open; null for temp files
    VfsShim* owner;
  };

  VfsShim(const VfsShim&) = delete;
  VfsShim& operator=(const VfsShim&) = delete;

protected:
  explicit VfsShim(const char* name) {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = name;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.pAppData = this;
    vfs_.xOpen = &x_open;
    vfs_.xDelete = &x_delete;
    methods_.iVersion = 3;
    methods_.xClose = [](sqlite3_file* f) {
      auto* file = reinterpret_cast<File*>(f);
      return file->real->pMethods ? file->real->pMethods->xClose(file->real) : SQLITE_OK;
    };
    methods_.xRead = [](sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
      auto* file = reinterpret_cast<File*>(f);
      return file->owner->on_read(*file, buf, n, off);
    };
    methods_.xWrite = [](sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
      auto* file = reinterpret_cast<File*>(f);
      return file->owner->on_write(*file, buf, n, off);
    };
    methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
      auto* file = reinterpret_cast<File*>(f);
      return file->owner->on_truncate(*file, size);
    };
    methods_.xSync = [](sqlite3_file* f, int flags) {
      auto* file = reinterpret_cast<File*>(f);
      return file->owner->on_sync(*file, flags);
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
    // Registered last; SQLite calls the hooks only once the subclass's
    // constructor has finished (its instance() returned).
    sqlite3_vfs_register(&vfs_, 0);
  }
  virtual ~VfsShim() = default;

  // The hooks: each forwards to the unix VFS unless overridden.
  virtual int on_open(const char* name, sqlite3_file* real, int flags, int* out_flags) {
    return real_->xOpen(real_, name, real, flags, out_flags);
  }
  virtual int on_delete(const char* name, int sync_dir) { return real_->xDelete(real_, name, sync_dir); }
  virtual int on_read(File& f, void* buf, int n, sqlite3_int64 off) {
    return f.real->pMethods->xRead(f.real, buf, n, off);
  }
  virtual int on_write(File& f, const void* buf, int n, sqlite3_int64 off) {
    return f.real->pMethods->xWrite(f.real, buf, n, off);
  }
  virtual int on_truncate(File& f, sqlite3_int64 size) { return f.real->pMethods->xTruncate(f.real, size); }
  virtual int on_sync(File& f, int flags) { return f.real->pMethods->xSync(f.real, flags); }

  sqlite3_vfs* real_ = nullptr;  // the default VFS everything goes to

private:
  static int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    auto& self = *static_cast<VfsShim*>(vfs->pAppData);
    auto* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    file->real->pMethods = nullptr;
    file->path = name;
    file->owner = &self;
    const int rc = self.on_open(name, file->real, flags, out_flags);
    // SQLite calls xClose on a failed open only if pMethods is set.
    file->base.pMethods = rc == SQLITE_OK ? &self.methods_ : nullptr;
    if (rc != SQLITE_OK && file->real->pMethods) file->real->pMethods->xClose(file->real);
    return rc;
  }
  static int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    return static_cast<VfsShim*>(vfs->pAppData)->on_delete(name, sync_dir);
  }

  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
};

}  // namespace weft::test

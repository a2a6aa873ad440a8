// Injected I/O faults for SQLite, in a test (SQLite's own technique): the
// VFS "faultsim" forwards to the default (unix) VFS, and once armed, the
// Nth matching call from now (xOpen, xRead, xWrite, xSync, xTruncate) on a
// file of the scoped directory fails, or that one and every one after it:
//   ioerr        the call's I/O error (SQLITE_IOERR_READ / _WRITE / _FSYNC /
//                _TRUNCATE; SQLITE_CANTOPEN for xOpen), errno EIO;
//   full         an xWrite that writes nothing: SQLITE_FULL, errno ENOSPC;
//   short_write  an xWrite that writes the first half of its bytes and then
//                fails, as the unix VFS reports a short write: SQLITE_FULL.
// It also keeps a trace of the calls in scope (a dry run counts an
// operation's I/O, so the chosen points are real calls). Calls come from
// every connection's thread (writer, reader, check); all state is under a
// mutex. Only for tests; one instance per process (SQLite keeps the VFS by
// name). The forwarding boilerplate is store_vfs_shim.hpp's.
#pragma once

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "store_vfs_shim.hpp"

namespace weft::test {

class FaultVfs : public VfsShim {
public:
  static FaultVfs& instance() {
    static FaultVfs vfs;
    return vfs;
  }
  static constexpr const char* kName = "faultsim";

  enum Op : unsigned { kOpen = 1, kRead = 2, kWrite = 4, kSync = 8, kTruncate = 16, kAnyIo = 31 };
  enum class Kind { ioerr, full, short_write };
  struct Call {
    Op op;
    std::string file;  // the path below the scoped directory ("readings.db-wal")
    sqlite3_int64 offset;
    int amount;
  };
  struct Fault {
    unsigned ops = kAnyIo;  // which calls count (full and short_write: kWrite only)
    Kind kind = Kind::ioerr;
    std::uint64_t nth = 1;  // 1: the next matching call
    bool sticky = false;    // that call and every matching one after it
    std::string file;       // only calls on this file (below the scope: "readings.db"); empty: any
  };

  // Only files below `dir` are counted, traced and failed (the test's temp
  // dir); clears any armed fault and the trace.
  void scope(const std::string& dir) {
    std::lock_guard lock(mutex_);
    prefix_ = dir + "/";
    fault_.reset();
    trace_.clear();
    failed_ = 0;
  }
  // Counting from now. Throws std::logic_error for a kind the calls cannot have.
  void arm(const Fault& f) {
    if (f.kind != Kind::ioerr && f.ops != kWrite)
      throw std::logic_error("faultsim: SQLITE_FULL and short writes are for xWrite only");
    if (f.nth == 0) throw std::logic_error("faultsim: nth counts from 1");
    std::lock_guard lock(mutex_);
    fault_ = f;
    seen_ = 0;
    failed_ = 0;
  }
  void disarm() {
    std::lock_guard lock(mutex_);
    fault_.reset();
  }
  // Calls failed since the last arm().
  std::uint64_t failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }
  // The calls in scope since the last clear_trace() (or scope()).
  void clear_trace() {
    std::lock_guard lock(mutex_);
    trace_.clear();
  }
  std::vector<Call> trace() const {
    std::lock_guard lock(mutex_);
    return trace_;
  }

  static const char* to_string(Op op) {
    switch (op) {
      case kOpen: return "xOpen";
      case kRead: return "xRead";
      case kWrite: return "xWrite";
      case kSync: return "xSync";
      case kTruncate: return "xTruncate";
      default: return "?";
    }
  }

private:
  FaultVfs() : VfsShim(kName) {}

  enum class Verdict { pass, fail };
  // Records the call; says whether it is the one (or one of those) to fail.
  Verdict note(Op op, const char* path, sqlite3_int64 offset, int amount) {
    if (path == nullptr) return Verdict::pass;  // temp files: not the store's
    std::lock_guard lock(mutex_);
    const std::string p(path);
    if (prefix_.empty() || p.rfind(prefix_, 0) != 0) return Verdict::pass;
    trace_.push_back(Call{op, p.substr(prefix_.size()), offset, amount});
    if (!fault_ || (fault_->ops & op) == 0) return Verdict::pass;
    if (!fault_->file.empty() && trace_.back().file != fault_->file) return Verdict::pass;
    ++seen_;
    if (seen_ < fault_->nth || (seen_ > fault_->nth && !fault_->sticky)) return Verdict::pass;
    ++failed_;
    return Verdict::fail;
  }
  Kind kind() const {
    std::lock_guard lock(mutex_);
    return fault_ ? fault_->kind : Kind::ioerr;
  }

  int on_open(const char* name, sqlite3_file* real, int flags, int* out_flags) override {
    if (note(kOpen, name, 0, 0) == Verdict::fail) {
      errno = EIO;
      return SQLITE_CANTOPEN;
    }
    return VfsShim::on_open(name, real, flags, out_flags);
  }
  int on_read(File& f, void* buf, int n, sqlite3_int64 off) override {
    if (note(kRead, f.path, off, n) == Verdict::fail) {
      errno = EIO;
      return SQLITE_IOERR_READ;
    }
    return VfsShim::on_read(f, buf, n, off);
  }
  int on_write(File& f, const void* buf, int n, sqlite3_int64 off) override {
    if (note(kWrite, f.path, off, n) == Verdict::fail) {
      switch (kind()) {
        case Kind::ioerr:
          errno = EIO;
          return SQLITE_IOERR_WRITE;
        case Kind::short_write:
          if (n / 2 > 0) (void)VfsShim::on_write(f, buf, n / 2, off);
          [[fallthrough]];
        case Kind::full:
          errno = ENOSPC;
          return SQLITE_FULL;
      }
    }
    return VfsShim::on_write(f, buf, n, off);
  }
  int on_sync(File& f, int flags) override {
    if (note(kSync, f.path, 0, 0) == Verdict::fail) {
      errno = EIO;
      return SQLITE_IOERR_FSYNC;
    }
    return VfsShim::on_sync(f, flags);
  }
  int on_truncate(File& f, sqlite3_int64 size) override {
    if (note(kTruncate, f.path, size, 0) == Verdict::fail) {
      errno = EIO;
      return SQLITE_IOERR_TRUNCATE;
    }
    return VfsShim::on_truncate(f, size);
  }

  mutable std::mutex mutex_;
  std::string prefix_;            // files below it are in scope; empty: none
  std::optional<Fault> fault_;    // armed
  std::uint64_t seen_ = 0;        // matching calls since arm()
  std::uint64_t failed_ = 0;      // calls failed since arm()
  std::vector<Call> trace_;       // calls in scope since clear_trace()
};

}  // namespace weft::test

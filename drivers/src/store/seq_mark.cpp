// The seq mark file: see seq_mark.hpp. Format (text, one field a line):
//   weft-seq-mark 1
//   reserved_below N
//   delivered_through M
#include "seq_mark.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sqlite3.h>

#include "sqlite_db.hpp"
#include "weft/core/atomic_file.hpp"

namespace weft::store {
namespace {

[[noreturn]] void fail(const std::string& path, const char* doing, int err) {
  const int code = (err == EROFS || err == EACCES || err == EPERM) ? SQLITE_READONLY
                   : err == ENOSPC                                 ? SQLITE_FULL
                                                                   : SQLITE_IOERR;
  throw sql::SqliteError(code, path + ": cannot " + doing + " the seq mark: " + std::strerror(err), err);
}

}  // namespace

std::string seq_mark_path(const std::string& db_path) { return db_path + ".seq"; }

std::optional<SeqMark> read_seq_mark(const std::string& db_path, std::string& problem) {
  const std::string path = seq_mark_path(db_path);
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string magic, key1, key2;
  int version = 0;
  SeqMark m;
  if (!(in >> magic >> version >> key1 >> m.reserved_below >> key2 >> m.delivered_through) ||
      magic != "weft-seq-mark" || version != 1 || key1 != "reserved_below" || key2 != "delivered_through" ||
      m.reserved_below == 0) {
    problem = path + " does not parse as a seq mark";
    return std::nullopt;
  }
  return m;
}

void write_seq_mark(const std::string& db_path, const SeqMark& mark) {
  const std::string path = seq_mark_path(db_path);
  std::ostringstream text;
  text << "weft-seq-mark 1\nreserved_below " << mark.reserved_below << "\ndelivered_through "
       << mark.delivered_through << "\n";
  if (const AtomicWriteError e = atomic_replace(path, text.str())) fail(e.path, e.doing, e.err);
}

}  // namespace weft::store

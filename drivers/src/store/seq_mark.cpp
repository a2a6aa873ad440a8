// The seq mark file: see seq_mark.hpp. Format (text, one field a line):
//   weft-seq-mark 1
//   reserved_below N
//   delivered_through M
#include "seq_mark.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include "sqlite_db.hpp"

namespace weft::store {
namespace {

[[noreturn]] void fail(const std::string& path, const char* doing, int err) {
  const int code = (err == EROFS || err == EACCES || err == EPERM) ? SQLITE_READONLY
                   : err == ENOSPC                                 ? SQLITE_FULL
                                                                   : SQLITE_IOERR;
  throw sql::SqliteError(code, path + ": cannot " + doing + " the seq mark: " + std::strerror(err), err);
}

void write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail(path, "write", err);
    }
    done += static_cast<std::size_t>(n);
  }
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
  const std::string temp = path + ".tmp";
  std::ostringstream text;
  text << "weft-seq-mark 1\nreserved_below " << mark.reserved_below << "\ndelivered_through "
       << mark.delivered_through << "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(temp, "create", errno);
  write_all(fd, text.str(), temp);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail(temp, "fsync", err);
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail(path, "rename", errno);
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(dir, "open the directory of", errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) fail(dir, "fsync the directory of", err);
}

}  // namespace weft::store

// What the store's fault tests share ([store][fault]): a rig (a temp dir
// the fault VFS is scoped to, a store's options on that VFS), the points
// to inject at (the first, a middle and the last call of a dry run's
// trace), the checks every case ends with (integrity_check, the
// acknowledged readings kept or recorded lost, no seq given twice), the
// sqlite3 CLI as a second opinion, and the store's log lines.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "weft/core/log.hpp"

#include "store_fault_vfs.hpp"
#include "store_support.hpp"

namespace weft::test {

// The three points of an operation whose dry run made `calls` matching
// calls: the first, a middle and the last (fewer when there are fewer calls).
inline std::vector<std::uint64_t> fault_points(std::size_t calls) {
  std::set<std::uint64_t> p;
  if (calls == 0) return {};
  p.insert(1);
  p.insert((calls + 1) / 2);
  p.insert(calls);
  return {p.begin(), p.end()};
}

// How many calls of the dry run `trace` a fault on `ops` (and `file`, if
// given) counts.
inline std::size_t matching(const std::vector<FaultVfs::Call>& trace, unsigned ops, const std::string& file = {}) {
  std::size_t n = 0;
  for (const auto& c : trace) n += (c.op & ops) != 0 && (file.empty() || c.file == file);
  return n;
}

// The `nth` matching call of `trace`, for messages ("xWrite readings.db-wal @4120").
inline std::string describe_call(const std::vector<FaultVfs::Call>& trace, unsigned ops, std::uint64_t nth) {
  std::uint64_t seen = 0;
  for (const auto& c : trace) {
    if ((c.op & ops) == 0 || ++seen != nth) continue;
    std::ostringstream s;
    s << FaultVfs::to_string(c.op) << " " << c.file;
    if (c.op == FaultVfs::kRead || c.op == FaultVfs::kWrite) s << " @" << c.offset << "+" << c.amount;
    return s.str();
  }
  return "(past the dry run's calls)";
}

inline const char* to_string(FaultVfs::Kind k) {
  switch (k) {
    case FaultVfs::Kind::ioerr: return "ioerr";
    case FaultVfs::Kind::full: return "full";
    case FaultVfs::Kind::short_write: return "short write";
  }
  return "?";
}

// The calls each kind of fault is injected at: an I/O error at any call,
// a full disk and a short write at writes only.
inline unsigned ops_for(FaultVfs::Kind k) { return k == FaultVfs::Kind::ioerr ? FaultVfs::kAnyIo : FaultVfs::kWrite; }

// A fault of `kind` at the `nth` call it can hit from now (and every one
// after it when `sticky`), on `file` only if given.
inline FaultVfs::Fault fault_of(FaultVfs::Kind kind, std::uint64_t nth, bool sticky, std::string file = {}) {
  FaultVfs::Fault f;
  f.ops = ops_for(kind);
  f.kind = kind;
  f.nth = nth;
  f.sticky = sticky;
  f.file = std::move(file);
  return f;
}

// A temp dir the fault VFS is scoped to, and a store's options on it:
// no background check (its reads would race the dry run's count) and no
// housekeeping unless a test asks for it.
struct FaultRig {
  TempDir dir;
  FaultVfs& vfs = FaultVfs::instance();
  store::StoreOptions o;
  explicit FaultRig(const std::string& name = "readings.db") {
    vfs.scope(dir.path.string());
    o = options_for(dir.file(name));
    o.vfs = FaultVfs::kName;
    o.background_check = false;
    o.housekeeping_period = std::chrono::hours(1);
    o.error_deadline = std::chrono::seconds(10);
  }
  ~FaultRig() { vfs.scope(""); }
  // The calls `op()` makes, faults off; the trace is cleared first.
  // WEFT_FAULT_TRACE=1 prints them (to see where the chosen points fall).
  template <typename Op>
  std::vector<FaultVfs::Call> dry_run(Op op) {
    vfs.disarm();
    vfs.clear_trace();
    op();
    auto trace = vfs.trace();
    print_trace(trace);
    return trace;
  }
  static void print_trace(const std::vector<FaultVfs::Call>& trace) {
    if (std::getenv("WEFT_FAULT_TRACE") == nullptr) return;
    for (std::size_t i = 0; i < trace.size(); ++i)
      std::fprintf(stderr, "dry run call %zu: %s\n", i + 1, describe_call(trace, FaultVfs::kAnyIo, i + 1).c_str());
  }
};

// A connection of the test's own to look at a file: read-write, because
// after a power cut only such a connection may recover the WAL (a
// read-only one fails with SQLITE_READONLY_RECOVERY), and told not to
// checkpoint when it closes, so the store's next open finds the file as
// the cut left it. It writes nothing itself.
struct LookAt {
  store::sql::Db db;
  explicit LookAt(const std::string& path) : db(path, store::sql::OpenMode::read_write_create) {
    sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    db.busy_timeout(5000);
  }
};

// Waits (bounded) until the store makes no I/O call for 200 ms: the end of
// work the writer does on its own (housekeeping, the size cap).
inline bool wait_until_quiet(const FaultVfs& vfs) {
  std::size_t seen = 0;
  return eventually([&] {
    const std::size_t now = vfs.trace().size();
    const bool quiet = now == seen;
    seen = now;
    if (!quiet) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return quiet;
  });
}

// PRAGMA integrity_check on a connection of its own: "ok", or what it found.
inline std::string integrity(const std::string& path) {
  LookAt look(path);
  store::sql::Statement st(look.db, "PRAGMA integrity_check");
  std::string out;
  while (st.step()) out += (out.empty() ? "" : "; ") + st.text(0);
  return out;
}

// The same from the sqlite3 CLI (another program, another SQLite build),
// or nullopt when it is not installed.
inline std::optional<std::string> cli_integrity(const std::string& path) {
#ifdef WEFT_SQLITE3_CLI
  const std::string cmd = std::string(WEFT_SQLITE3_CLI) + " -readonly '" + path + "' 'PRAGMA integrity_check' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::string("popen failed");
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0) out += " (exit status " + std::to_string(status) + ")";
  return out;
#else
  (void)path;
  return std::nullopt;
#endif
}

// The readings a test was told are committed (flushed() returned at or
// above their seq), by seq, with the value each was appended with.
struct Acked {
  std::map<std::uint64_t, std::int64_t> value_of;
  std::uint64_t top() const { return value_of.empty() ? 0 : value_of.rbegin()->first; }
};

// Appends `n` readings of point `point` with values from `first_value` on;
// returns their seqs.
inline std::vector<std::uint64_t> append_n(store::Store& s, int n, std::int64_t first_value,
                                           const std::string& point = "p") {
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < n; ++i) seqs.push_back(s.append(sample(point, first_value + i)));
  return seqs;
}

inline void acknowledge(Acked& acked, const std::vector<std::uint64_t>& seqs, std::int64_t first_value) {
  for (std::size_t i = 0; i < seqs.size(); ++i) acked.value_of[seqs[i]] = first_value + static_cast<std::int64_t>(i);
}

// The state most cases start from: `s` opened, `n` readings of "p"
// (values 1..n) committed and acknowledged, 1..delivered marked delivered.
inline void open_and_commit(store::Store& s, boost::asio::io_context& ioc, Acked& acked, int n,
                            std::uint64_t delivered = 0) {
  run_sync(ioc, s.open());
  const auto seqs = append_n(s, n, 1);
  REQUIRE(run_sync(ioc, s.flushed()) == seqs.back());
  acknowledge(acked, seqs, 1);
  if (delivered > 0) run_sync(ioc, s.mark_delivered(1, delivered));
}

// What the file holds (read on a connection of its own): every reading's
// value by seq, the lost ranges and the delivered ones.
struct FileContent {
  std::map<std::uint64_t, std::int64_t> values;
  std::vector<store::Gap> lost;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> delivered;
  bool in_lost(std::uint64_t seq) const {
    for (const auto& g : lost)
      if (seq >= g.first_seq && seq <= g.last_seq) return true;
    return false;
  }
  bool is_delivered(std::uint64_t seq) const {
    for (const auto& [first, last] : delivered)
      if (seq >= first && seq <= last) return true;
    return false;
  }
  std::uint64_t top() const {
    std::uint64_t t = values.empty() ? 0 : values.rbegin()->first;
    for (const auto& g : lost) t = std::max(t, g.last_seq);
    return t;
  }
};

inline FileContent read_content(const std::string& path) {
  FileContent c;
  LookAt look(path);
  store::sql::Db& db = look.db;
  {
    store::sql::Statement st(db, "SELECT seq, value FROM readings ORDER BY seq");
    while (st.step()) c.values[static_cast<std::uint64_t>(st.int64(0))] = st.int64(1);
  }
  {
    store::sql::Statement st(db, "SELECT first_seq, last_seq, why FROM lost ORDER BY first_seq");
    while (st.step())
      c.lost.push_back({static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)), st.text(2)});
  }
  store::sql::Statement st(db, "SELECT first_seq, last_seq FROM delivered ORDER BY first_seq");
  while (st.step()) c.delivered.emplace_back(static_cast<std::uint64_t>(st.int64(0)), static_cast<std::uint64_t>(st.int64(1)));
  return c;
}

// Every acknowledged reading is in the file with its own value, or its
// seq is recorded lost, or it was delivered (the broker has it: pruning it
// loses nothing); "" if so, else the first that is not.
inline std::string unaccounted(const Acked& acked, const FileContent& c) {
  for (const auto& [seq, value] : acked.value_of) {
    const auto it = c.values.find(seq);
    if (it != c.values.end()) {
      if (it->second != value)
        return "seq " + std::to_string(seq) + " holds " + std::to_string(it->second) + ", acknowledged as " +
               std::to_string(value) + " (a seq given twice)";
      continue;
    }
    if (!c.in_lost(seq) && !c.is_delivered(seq))
      return "seq " + std::to_string(seq) + " was acknowledged, is not in the file nor recorded lost nor delivered";
  }
  return {};
}

// The store's log lines after `after` (logging::last_line_seq() taken
// before), joined by newlines; waits for the log thread first.
inline std::string store_log_since(std::uint64_t after) {
  logging::flush();
  std::string out;
  for (const auto& l : logging::recent_lines(after, logging::kRingLines, "store")) out += l.text + "\n";
  return out;
}

}  // namespace weft::test

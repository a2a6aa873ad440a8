// Power cuts at 1,000 random points (the crash VFS, store_crash_vfs.hpp):
// a seeded loop of sessions on one file (a new file every kSessionsPerFile
// sessions): open, commit batches of readings, mark some delivered, close;
// the power is cut at a random write, truncate or sync of the session (its
// open, a commit, a delivery mark or the close's checkpoint), everything
// not fsynced is rolled back, and the next session reopens the file.
// After every cut: PRAGMA integrity_check is ok; every row holds the value
// its seq was appended with; under synchronous = full every acknowledged
// commit and delivery mark survives, under normal the ones a WAL sync
// followed (README, Store: what survives); after the reopen every
// acknowledged reading is in the file or its seq recorded lost, and no seq
// that was ever committed (acknowledged, seen in the file, or published as
// committed_seq before the cut) is handed out again.
// WEFT_CRASH_SEED=<n> replays a run (the seed is printed);
// WEFT_CRASH_POINTS=<n> sets the number of cuts per setting (default 1000;
// 100 in a sanitizer build); WEFT_CRASH_VERBOSE=1 keeps the store's log on.
#include "weft/drivers/store/store.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <spdlog/spdlog.h>

#include "../../drivers/src/store/seq_mark.hpp"
#include "store_crash_vfs.hpp"
#include "store_fault_support.hpp"

using namespace weft;
using namespace weft::test;

namespace {

using Sync = store::StoreOptions::Synchronous;

constexpr int kSessionsPerFile = 25;  // bounds the file, so each check stays cheap

std::uint64_t crash_env(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// A temp dir on tmpfs when there is one: the crash VFS decides what is
// durable, so the disk's real fsyncs would only cost time.
struct CrashLoopDir {
  std::filesystem::path path;
  CrashLoopDir() {
    const std::filesystem::path base =
        std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "weft-crash-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~CrashLoopDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What the loop knows about one file.
struct CrashLedger {
  std::map<std::uint64_t, std::int64_t> appended;  // every seq handed out, with its value
  // A commit or delivery mark the store acknowledged: durable once a WAL
  // sync follows it (or at once under synchronous = full); a power cut
  // settles it either way: it survived (on disk from then on) or vanished.
  struct Ack {
    std::int64_t value;
    std::uint64_t wal_syncs;  // successful WAL syncs when the test saw it committed
    bool settled = false;     // survived a cut: must stay
    bool vanished = false;    // a cut took it before it was durable: the reopen records it lost
  };
  std::map<std::uint64_t, Ack> acked;
  struct Mark {
    std::uint64_t first, last, wal_syncs;
    bool settled = false;
  };
  std::vector<Mark> delivered;
  std::uint64_t committed_ever = 0;  // the highest seq ever committed (acknowledged, in the file, published)
  std::uint64_t delivered_top = 0;   // marked delivered (acknowledged) up to here
};

struct CrashFigures {
  std::uint64_t cuts = 0, clean = 0, sessions = 0, acked = 0, vanished = 0, reused_uncommitted = 0;
  std::map<std::string, std::uint64_t> cut_in;  // phase -> cuts
};

class CrashLoop {
public:
  CrashLoop(Sync sync, std::uint64_t seed) : sync_(sync), rng_(seed) {}

  // The writes, truncates and syncs of the biggest session, cut nowhere:
  // the cut points are drawn from 1..this.
  std::uint64_t calibrate() {
    new_file();
    vfs_.crash_at(0);
    session(/*batches=*/5, /*largest=*/true);
    const std::uint64_t n = vfs_.changes();
    vfs_.restore();
    after_cut(false);
    return n;
  }

  void run(std::uint64_t points, std::uint64_t span) {
    for (; figures_.cuts < points && figures_.sessions < 10 * points; ++figures_.sessions) {
      if (figures_.sessions % kSessionsPerFile == 0) new_file();
      const std::uint64_t at = std::uniform_int_distribution<std::uint64_t>(1, span)(rng_);
      cut_phase_.clear();
      committed_at_cut_ = 0;
      vfs_.crash_at(at, [this] {
        cut_phase_ = phase_.load();
        mark_at_cut_ = read_whole(store::seq_mark_path(o_.path));
        if (store::Store* s = live_.load()) committed_at_cut_ = s->committed_seq();
      });
      session(std::uniform_int_distribution<int>(1, 5)(rng_), false);
      const bool cut = vfs_.crashed();
      if (cut) {
        ++figures_.cuts;
        ++figures_.cut_in[cut_phase_];
        // The seq mark is frozen at the cut too (the store may write it
        // after, through plain POSIX calls the VFS does not see).
        const std::string mark_path = store::seq_mark_path(o_.path);
        if (mark_at_cut_) {
          std::ofstream(mark_path, std::ios::binary | std::ios::trunc) << *mark_at_cut_;
        } else {
          std::filesystem::remove(mark_path);
        }
        ledger_.committed_ever = std::max(ledger_.committed_ever, committed_at_cut_);
      } else {
        ++figures_.clean;
      }
      vfs_.restore();  // also for a clean close: a power cut right after it
      after_cut(cut);
      if (failed_) return;
    }
  }

  const CrashFigures& figures() const { return figures_; }
  bool failed() const { return failed_; }

private:
  void new_file() {
    ledger_ = {};
    o_ = options_for((dir_.path / ("f" + std::to_string(file_++) + ".db")).string());
    o_.vfs = CrashVfs::kName;
    o_.synchronous = sync_;
    o_.batch_rows = 50;
    o_.batch_age = std::chrono::milliseconds(1);
    o_.error_deadline = Duration::zero();  // after the cut: fail at once (the machine is off anyway)
    o_.busy_deadline = std::chrono::milliseconds(200);
    o_.background_check = false;
    o_.ballast_bytes = 0;
    o_.housekeeping_period = std::chrono::hours(1);
  }

  void fail(const std::string& what) {
    if (failed_) return;
    failed_ = true;
    FAIL_CHECK(what << " (synchronous " << to_string(sync_) << ", session " << figures_.sessions << ", file "
                    << o_.path << ")");
  }

  // One session: open, `batches` commits (each flushed; some delivery
  // marks), a clean close. Stops where the cut makes a call fail.
  void session(int batches, bool largest) {
    boost::asio::io_context ioc;
    phase_ = "open";
    store::Store s(o_);
    live_ = &s;
    // Before the close: a cut there finds the acknowledged top in the ledger.
    struct Forget {
      std::atomic<store::Store*>& p;
      ~Forget() { p = nullptr; }
    } forget{live_};
    try {
      run_sync(ioc, s.open());
    } catch (const store::StoreError&) {
      phase_ = "close";
      return;
    }
    check_after_open();
    for (int b = 0; b < batches && !failed_; ++b) {
      phase_ = "commit";  // the writer may commit while the batch is appended
      const int n = largest ? 120 : std::uniform_int_distribution<int>(1, 120)(rng_);
      std::vector<std::pair<std::uint64_t, std::int64_t>> batch;
      for (int i = 0; i < n; ++i) {
        const std::int64_t value = next_value_++;
        const std::uint64_t seq = s.append(sample("p", value));
        if (seq <= ledger_.committed_ever)
          return fail("seq " + std::to_string(seq) + " handed out again (committed before: up to " +
                      std::to_string(ledger_.committed_ever) + ")");
        if (ledger_.appended.count(seq)) ++figures_.reused_uncommitted;  // never committed: harmless
        ledger_.appended[seq] = value;
        batch.emplace_back(seq, value);
      }
      std::uint64_t top = 0;
      try {
        top = run_sync(ioc, s.flushed());
      } catch (const store::StoreError&) {
        break;
      }
      const std::uint64_t syncs = vfs_.syncs_of("-wal");
      for (const auto& [seq, value] : batch)
        if (seq <= top) ledger_.acked[seq] = {value, syncs, false, false};
      ledger_.committed_ever = std::max(ledger_.committed_ever, top);
      figures_.acked += batch.size();
      if (largest || std::uniform_int_distribution<int>(0, 2)(rng_) == 0) {
        // Upload acknowledged the oldest undelivered ones.
        const std::uint64_t first = ledger_.delivered_top + 1;
        const std::uint64_t last = std::min(top, first + 40);
        if (last < first) continue;
        phase_ = "mark delivered";
        try {
          run_sync(ioc, s.mark_delivered(first, last));
        } catch (const store::StoreError&) {
          break;
        }
        ledger_.delivered.push_back({first, last, vfs_.syncs_of("-wal"), false});
        ledger_.delivered_top = last;
      }
    }
    phase_ = "close";
  }

  // Whether a power cut now must leave it on disk.
  bool durable(std::uint64_t wal_syncs_at_ack, bool settled) const {
    return settled || sync_ == Sync::full || vfs_.syncs_of("-wal") > wal_syncs_at_ack;
  }

  // After the power came back, before the reopen: the file as the cut left it.
  void after_cut(bool cut) {
    if (!std::filesystem::exists(o_.path)) {
      if (!ledger_.acked.empty()) fail("the database file is gone");
      return;
    }
    const std::string check = integrity(o_.path);
    if (check != "ok") return fail("integrity_check after a " + std::string(cut ? "cut" : "clean close") + ": " + check);
    LookAt look(o_.path);
    if (look.db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'readings'") == 0) {
      for (auto& [seq, a] : ledger_.acked) {
        if (!a.vanished && durable(a.wal_syncs, a.settled))
          return fail("the schema is gone with acknowledged readings in it");
        a.vanished = true;
      }
      ledger_.delivered.clear();
      ledger_.delivered_top = 0;
      return;
    }
    const FileContent c = read_content(o_.path);
    for (const auto& [seq, value] : c.values) {
      const auto it = ledger_.appended.find(seq);
      if (it == ledger_.appended.end()) return fail("seq " + std::to_string(seq) + " in the file was never appended");
      if (it->second != value)
        return fail("seq " + std::to_string(seq) + " holds " + std::to_string(value) + ", appended as " +
                    std::to_string(it->second));
    }
    for (auto& [seq, a] : ledger_.acked) {
      if (a.vanished) continue;
      if (c.values.count(seq)) {
        a.settled = true;
        continue;
      }
      if (!durable(a.wal_syncs, a.settled)) {
        a.vanished = true;
        continue;
      }
      return fail("acknowledged seq " + std::to_string(seq) + " is gone although " +
                  (a.settled ? std::string("an earlier cut left it on disk")
                   : sync_ == Sync::full
                       ? std::string("synchronous = full")
                       : "a WAL sync followed it (WAL syncs when it was acknowledged: " + std::to_string(a.wal_syncs) +
                             ", at the cut: " + std::to_string(vfs_.syncs_of("-wal")) + ")"));
    }
    for (auto& m : ledger_.delivered) {
      store::sql::Statement st(look.db, "SELECT count(*) FROM delivered WHERE first_seq <= ?1 AND last_seq >= ?2");
      st.bind(1, static_cast<std::int64_t>(m.first)).bind(2, static_cast<std::int64_t>(m.last));
      const bool present = st.step() && st.int64(0) == 1;
      if (!present && durable(m.wal_syncs, m.settled))
        return fail("delivered " + std::to_string(m.first) + ".." + std::to_string(m.last) + " is gone although durable");
      m.settled = present;
    }
    ledger_.committed_ever = std::max(ledger_.committed_ever, c.top());
    // What vanished (not durable: allowed) no longer counts as delivered.
    const auto file_delivered = static_cast<std::uint64_t>(
        look.db.query_int("SELECT coalesce((SELECT last_seq FROM delivered WHERE first_seq = 1), 0)"));
    ledger_.delivered_top = file_delivered;
    ledger_.delivered.erase(std::remove_if(ledger_.delivered.begin(), ledger_.delivered.end(),
                                           [](const CrashLedger::Mark& m) { return !m.settled; }),
                            ledger_.delivered.end());
  }

  // The reopen recorded what vanished as lost.
  void check_after_open() {
    if (ledger_.acked.empty()) return;
    const FileContent c = read_content(o_.path);
    std::uint64_t vanished = 0;
    for (auto it = ledger_.acked.begin(); it != ledger_.acked.end();) {
      if (c.values.count(it->first)) {
        ++it;
        continue;
      }
      if (!c.in_lost(it->first))
        return fail("acknowledged seq " + std::to_string(it->first) + " is neither in the file nor recorded lost");
      ++vanished;
      it = ledger_.acked.erase(it);  // accounted for, once
    }
    figures_.vanished += vanished;
  }

  const Sync sync_;
  std::mt19937_64 rng_;
  CrashVfs& vfs_ = CrashVfs::instance();
  CrashLoopDir dir_;
  int file_ = 0;
  store::StoreOptions o_;
  CrashLedger ledger_;
  CrashFigures figures_;
  std::int64_t next_value_ = 1;
  std::atomic<const char*> phase_{""};  // read by the cut's hook on the writer thread
  std::string cut_phase_;
  std::optional<std::string> mark_at_cut_;
  std::uint64_t committed_at_cut_ = 0;
  std::atomic<store::Store*> live_{nullptr};  // the session's store, for the cut's hook
  bool failed_ = false;
};

void crash_points(Sync sync) {
  const std::uint64_t seed = crash_env("WEFT_CRASH_SEED", std::random_device{}());
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kDefaultPoints = 100;  // 3-15 times slower there: the same loop, fewer cuts
#else
  constexpr std::uint64_t kDefaultPoints = 1000;
#endif
  const std::uint64_t points = crash_env("WEFT_CRASH_POINTS", kDefaultPoints);
  const auto level = logging::default_level();
  if (!std::getenv("WEFT_CRASH_VERBOSE")) logging::set_default_level(spdlog::level::off);  // 1,000 cuts log a lot
  struct Restore {
    spdlog::level::level_enum level;
    ~Restore() { logging::set_default_level(level); }
  } restore_level{level};
  const auto t0 = std::chrono::steady_clock::now();
  CrashLoop loop(sync, seed);
  const std::uint64_t span = loop.calibrate();
  loop.run(points, span);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const CrashFigures& f = loop.figures();
  std::ostringstream where;
  for (const auto& [phase, n] : f.cut_in) where << " " << phase << " " << n << ",";
  WARN("crash points, synchronous " << to_string(sync) << ": WEFT_CRASH_SEED=" << seed << " " << f.cuts << " cuts ("
                                    << where.str() << " drawn from 1.." << span << " writes/syncs) in "
                                    << f.sessions << " sessions, " << f.clean << " closed cleanly; " << f.acked
                                    << " readings acknowledged, " << f.vanished
                                    << " of them vanished and recorded lost; " << f.reused_uncommitted
                                    << " never-committed seqs handed out again; " << took << " s");
  CHECK_FALSE(loop.failed());
  CHECK(f.cuts == points);
  if (sync == Sync::full) CHECK(f.vanished == 0);
}

}  // namespace

TEST_CASE("store: 1,000 random power cuts under synchronous = full lose no acknowledged commit",
          "[store][fault][crash_points]") {
  crash_points(Sync::full);
}

TEST_CASE("store: 1,000 random power cuts under synchronous = normal keep what the README promises",
          "[store][fault][crash_points]") {
  crash_points(Sync::normal);
}

// Dump formatting and files. format_dump() is pure (testable); the files go
// to <data_dir>/dumps/<stamp>-<pid>.txt, written atomically (whole or not at
// all), newest `keep` kept.
#include "weft/core/dump.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <string_view>
#include <tuple>

#include "weft/core/atomic_file.hpp"

namespace weft {

DumpSectionHandle::DumpSectionHandle(DumpSectionHandle&& o) noexcept
    : sections_(std::exchange(o.sections_, nullptr)), id_(o.id_) {}

DumpSectionHandle& DumpSectionHandle::operator=(DumpSectionHandle&& o) noexcept {
  if (this != &o) {
    reset();
    sections_ = std::exchange(o.sections_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

DumpSectionHandle::~DumpSectionHandle() { reset(); }

void DumpSectionHandle::reset() noexcept {
  if (sections_ != nullptr) sections_->remove(id_);
  sections_ = nullptr;
}

DumpSectionHandle DumpSections::add(std::string title, Producer producer) {
  const std::uint64_t id = next_id_++;
  entries_.push_back(Entry{id, std::move(title), std::move(producer)});
  return DumpSectionHandle(this, id);
}

void DumpSections::remove(std::uint64_t id) noexcept {
  std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

std::vector<std::pair<std::string, std::string>> DumpSections::render() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : entries_) {
    std::string text;
    try {
      text = e.producer();
    } catch (const std::exception& ex) {
      text = std::string("(section failed: ") + ex.what() + ")\n";
    } catch (...) {
      text = "(section failed: unknown exception)\n";
    }
    out.emplace_back(e.title, std::move(text));
  }
  return out;
}

std::string human_duration(Duration d) {
  const double ns = static_cast<double>(d.count());
  char buf[32];
  if (ns >= 1e9) std::snprintf(buf, sizeof buf, "%.3f s", ns / 1e9);
  else if (ns >= 1e6) std::snprintf(buf, sizeof buf, "%.1f ms", ns / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f us", ns / 1e3);
  return buf;
}

namespace {

std::string utc(std::int64_t wall_ns, bool compact) {
  const std::time_t secs = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string site_text(const AwaitSite& site, MonoTime now) {
  if (site.empty()) return "-";
  std::string where = std::string(site.what) + " at " + (site.file ? site.file : "?") + ":" + std::to_string(site.line);
  return where + " for " + human_duration(now - site.since);
}

// "<stamp>-<pid>[-<n>].txt" -> (stamp, pid, n), n = 1 when absent. By name
// alone "…-7-2.txt" sorts before "…-7.txt" ('-' < '.'), and pruning would
// drop the later dump of a second and keep the first.
std::tuple<std::string, unsigned long, unsigned long> dump_order(const std::filesystem::path& p) {
  const std::string stem = p.stem().string();
  const std::size_t first = stem.find('-');
  if (first == std::string::npos) return {stem, 0, 1};
  const std::size_t second = stem.find('-', first + 1);
  const unsigned long pid = std::strtoul(stem.c_str() + first + 1, nullptr, 10);
  const unsigned long n = second == std::string::npos ? 1 : std::strtoul(stem.c_str() + second + 1, nullptr, 10);
  return {stem.substr(0, first), pid, n};
}

bool older_dump(const std::filesystem::path& a, const std::filesystem::path& b) { return dump_order(a) < dump_order(b); }

}  // namespace

std::string format_dump(const DumpInput& in) {
  std::ostringstream out;
  out << "=== weft dump (" << in.reason << ") at " << utc(in.wall_ns, false) << ", pid " << ::getpid() << " ===\n";
  if (!in.note.empty()) out << in.note << "\n";
  out << "services (" << in.services.size() << "):\n";
  for (const auto& s : in.services) {
    const auto& st = s.stats;
    out << "  " << s.name << ": " << s.state << (s.ready ? ", ready" : ", not ready") << " since "
        << human_duration(in.now - s.state_since) << ", restarts " << s.restarts << "\n"
        << "    waiting: " << site_text(st.site, in.now) << "\n"
        << "    last await: " << (st.last_site.empty() ? "-" : std::string(st.last_site.what) + " at " +
                                                                 st.last_site.file + ":" +
                                                                 std::to_string(st.last_site.line))
        << "\n"
        << "    loop time " << human_duration(Duration(st.loop_ns)) << ", slices " << st.slices << ", longest slice "
        << human_duration(Duration(st.longest_slice_ns)) << ", allocations " << st.allocations << " ("
        << st.allocated_bytes << " bytes)\n";
    if (!s.last_error.empty()) out << "    last error: " << s.last_error << "\n";
  }
  out << "bus: " << in.bus_published << " published, " << in.bus_dropped << " dropped, " << in.bus_queues.size()
      << " subscriber queues\n";
  for (const auto& q : in.bus_queues)
    out << "  " << q.owner << " '" << q.pattern << "': depth " << q.depth << "/" << q.capacity << ", dropped "
        << q.dropped << "\n";
  const auto& lag = in.loop_lag;
  out << "loop lag (" << lag.total.count() << " samples): p50 " << human_duration(lag.total.percentile(0.5))
      << ", p99 " << human_duration(lag.total.percentile(0.99)) << ", max " << human_duration(lag.total.max())
      << "; recent p99 " << human_duration(lag.recent.percentile(0.99)) << "; stalls " << in.stalls << "\n";
  for (const auto& [title, text] : in.sections) {
    out << "--- " << title << " ---\n" << text;
    if (!text.empty() && text.back() != '\n') out << "\n";
  }
  out << "=== end of dump ===\n";
  return out.str();
}

std::string write_dump_file(const std::string& dir, const std::string& text, std::int64_t wall_ns, std::size_t keep) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("dump dir " + dir + ": cannot create it: " + ec.message());
  const std::string base = (fs::path(dir) / (utc(wall_ns, true) + "-" + std::to_string(::getpid()))).string();
  // Whole or not at all (a dump cut short by a kill or a full disk would be
  // read as the whole picture). Several dumps in one second get "-2", "-3":
  // atomic_create never replaces, so two writers at once (the monitor
  // thread and the console) cannot land on one name.
  std::string path = base + ".txt";
  for (int n = 2;; ++n) {
    const AtomicWriteError e = atomic_create(path, text);
    if (!e) break;
    if (e.err != EEXIST || std::string_view(e.doing) != "rename")
      throw std::runtime_error("dump file " + path + ": " + e.message());
    path = base + "-" + std::to_string(n) + ".txt";
  }
  remove_abandoned_temps(dir);  // a dump cut short by a kill leaves a temp
  std::vector<fs::path> dumps;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".txt") dumps.push_back(it->path());
  std::sort(dumps.begin(), dumps.end(), older_dump);
  for (std::size_t i = 0; i + keep < dumps.size(); ++i) fs::remove(dumps[i], ec);
  return path;
}

}  // namespace weft

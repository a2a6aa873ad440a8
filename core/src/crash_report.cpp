// The reading side of crash reports: turns <stamp>.dump files written by a
// dying process into readable <stamp>.txt reports at the next start, and
// lists reports for the console. Frame addresses are relocated through the
// dump's copy of /proc/self/maps into this process's mapping of the same
// file (same path and inode): through the module's link-time address, found
// from its PT_LOAD headers (elf_segments.hpp; a file offset is not an
// address), then symbolised by Boost.Stacktrace. A frame whose module is not
// mapped here is printed as module+address, which `addr2line -Cfe MODULE
// ADDRESS` decodes offline. Watched rings (the
// serial flight recorders) are rendered like the console's `frames`, with
// times relative to the crash.
#define BOOST_STACKTRACE_LINK
#include "weft/core/crash_report.hpp"
#include "weft/core/atomic_file.hpp"
#include "weft/core/elf_segments.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <boost/stacktrace/frame.hpp>

#include <sys/stat.h>
#include <unistd.h>

namespace weft::crash {
namespace {

namespace fs = std::filesystem;

struct Mapping {
  std::uintptr_t start = 0, end = 0, offset = 0;
  std::string perms;  // "r-xp"
  std::string inode;
  std::string path;
};

// Hex or decimal numbers from a dump that may be cut short (the disk filled
// while the dying process wrote it): nothing here throws on a bad field.
std::optional<std::uintptr_t> to_number(const std::string& text, int base) {
  if (text.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, base);
  if (errno != 0 || end == text.c_str()) return std::nullopt;
  return static_cast<std::uintptr_t>(v);
}

std::optional<Mapping> parse_mapping(const std::string& line) {
  std::istringstream in(line);
  std::string range, perms, offset, dev, inode, path;
  if (!(in >> range >> perms >> offset >> dev >> inode)) return std::nullopt;
  std::getline(in >> std::ws, path);
  const auto dash = range.find('-');
  if (dash == std::string::npos || path.empty() || path[0] != '/') return std::nullopt;
  const auto start = to_number(range.substr(0, dash), 16), end = to_number(range.substr(dash + 1), 16),
             off = to_number(offset, 16);
  if (!start || !end || !off) return std::nullopt;
  return Mapping{*start, *end, *off, perms, inode, path};
}

const Mapping* containing(const std::vector<Mapping>& maps, std::uintptr_t addr) {
  for (const auto& m : maps)
    if (addr >= m.start && addr < m.end) return &m;
  return nullptr;
}

std::vector<Mapping> own_maps() {
  std::vector<Mapping> out;
  std::ifstream in("/proc/self/maps");
  for (std::string line; std::getline(in, line);)
    if (auto m = parse_mapping(line)) out.push_back(*m);
  return out;
}

// A watched ring as the dump holds it: its layout and raw slots, oldest first.
struct DumpedRing {
  std::string title;
  std::vector<std::size_t> layout;  // stride capacity mono_ns direction verdict length kept bytes
  std::vector<std::string> verdicts;
  std::string count;                // "N TOTAL"
  std::vector<std::vector<std::uint8_t>> slots;
};

std::optional<std::vector<std::uint8_t>> unhex(const std::string& line) {
  if (line.empty() || line.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(line.size() / 2);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < line.size(); i += 2) {
    const int hi = nibble(line[i]), lo = nibble(line[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

struct Dump {
  std::string time, pid, cause, service, thread;
  std::optional<std::int64_t> mono_ns;
  std::vector<DumpedRing> rings;
  std::uintptr_t pc = 0;
  std::vector<std::uintptr_t> frames;
  std::vector<Mapping> maps;
};

Dump read_dump(const fs::path& path) {
  Dump d;
  std::ifstream in(path);
  std::string line;
  bool in_frames = false, in_maps = false, in_rings = false;
  while (std::getline(in, line)) {
    if (line == "maps") {  // then the maps, until a ring or "frames N"
      in_maps = true;
      continue;
    }
    if (line.rfind("ring ", 0) == 0) {  // then its layout and slots, until the next or "end rings"
      in_maps = false;
      in_rings = true;
      d.rings.push_back(DumpedRing{line.substr(5), {}, {}, {}, {}});
      continue;
    }
    if (line == "end rings") {
      in_maps = in_rings = false;
      continue;
    }
    if (line.rfind("frames ", 0) == 0) {  // then one address per line, to the end
      in_maps = in_rings = false;
      in_frames = true;
      continue;
    }
    if (in_rings) {
      DumpedRing& r = d.rings.back();
      std::istringstream fields(line);
      std::string key;
      fields >> key;
      if (key == "layout") {
        for (std::size_t v; fields >> v;) r.layout.push_back(v);
      } else if (key == "verdicts") {
        for (std::string v; fields >> v;) r.verdicts.push_back(v);
      } else if (key == "count") {
        std::getline(fields >> std::ws, r.count);
      } else if (auto bytes = unhex(line)) {
        r.slots.push_back(std::move(*bytes));
      }
      continue;
    }
    if (in_maps) {
      if (auto m = parse_mapping(line)) d.maps.push_back(*m);
      continue;
    }
    if (in_frames) {
      if (line.rfind("0x", 0) == 0)
        if (auto a = to_number(line, 16)) d.frames.push_back(*a);
      continue;
    }
    const auto space = line.find(' ');
    const std::string key = line.substr(0, space);
    const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (key == "time") d.time = value;
    else if (key == "pid") d.pid = value;
    else if (key == "cause") d.cause = value;
    else if (key == "service") d.service = value;
    else if (key == "thread") d.thread = value;
    else if (key == "pc") d.pc = to_number(value, 16).value_or(0);
    else if (key == "mono") {
      if (auto ns = to_number(value, 10)) d.mono_ns = static_cast<std::int64_t>(*ns);
    }
  }
  // Empty or cut short: the crash handler could not write it all (a full disk).
  if (d.cause.empty()) d.cause = "(unknown: the dump is empty or cut short; was the disk full?)";
  if (d.service.empty()) d.service = "(unknown)";
  return d;
}

template <typename T>
T field(const std::vector<std::uint8_t>& slot, std::size_t offset) {
  T v{};
  // Not offset + sizeof v <= size: a torn layout's offset near SIZE_MAX wraps that.
  if (offset <= slot.size() && sizeof v <= slot.size() - offset) std::memcpy(&v, slot.data() + offset, sizeof v);
  return v;
}

// "serial ttyS1: last frames (3 of 812 recorded; ms before the crash)" and
// one line per slot, as the console's `frames` shows them.
void render_ring(std::ostream& text, const DumpedRing& r, std::optional<std::int64_t> crash_mono_ns) {
  text << r.title << ": last frames";
  std::istringstream count(r.count);
  std::size_t n = 0;
  std::uint64_t total = 0;
  text << " (";
  if (count >> n >> total) text << n << " of " << total << " recorded; ";
  text << (crash_mono_ns ? "ms relative to the crash)\n" : "ms relative to the first)\n");
  if (r.layout.size() != 8) {
    text << "  (not recorded: the dump was cut short)\n";
    return;
  }
  const std::size_t stride = r.layout[0];
  const std::size_t at_mono = r.layout[2], at_dir = r.layout[3], at_verdict = r.layout[4], at_length = r.layout[5],
                    at_kept = r.layout[6], at_bytes = r.layout[7];
  if (r.slots.empty()) text << "  (none)\n";
  std::int64_t reference = crash_mono_ns.value_or(0);
  if (!crash_mono_ns && !r.slots.empty()) reference = field<std::int64_t>(r.slots.front(), at_mono);
  char buf[64];
  for (const auto& slot : r.slots) {
    if (slot.size() != stride) continue;
    // In unsigned arithmetic: the dump's times are untrusted (a damaged
    // file), and a signed difference could overflow (found by the fuzzer).
    const auto since = static_cast<std::int64_t>(static_cast<std::uint64_t>(field<std::int64_t>(slot, at_mono)) -
                                                 static_cast<std::uint64_t>(reference));
    const double ms = static_cast<double>(since) / 1e6;
    std::snprintf(buf, sizeof buf, "  %+.3f ms %s", ms, field<std::uint8_t>(slot, at_dir) == 0 ? "tx" : "rx");
    text << buf;
    const std::size_t length = field<std::uint16_t>(slot, at_length);
    const std::size_t room = at_bytes < stride ? stride - at_bytes : 0;
    const std::size_t kept = std::min<std::size_t>(field<std::uint16_t>(slot, at_kept), room);
    for (std::size_t i = 0; i < kept; ++i) {
      std::snprintf(buf, sizeof buf, " %02x", slot[at_bytes + i]);
      text << buf;
    }
    if (kept < length) text << " ... (" << length << " bytes)";
    const std::size_t verdict = field<std::uint8_t>(slot, at_verdict);
    text << "  " << (verdict < r.verdicts.size() ? r.verdicts[verdict] : "verdict " + std::to_string(verdict)) << "\n";
  }
}

struct Decoded {
  std::string text;      // one line, without the index
  std::string function;  // empty if unknown
};

MappedRange range_of(const Mapping& m) {
  const auto has = [&m](std::size_t i, char c) { return m.perms.size() > i && m.perms[i] == c; };
  return MappedRange{m.start, m.end, m.offset, has(0, 'r'), has(1, 'w'), has(2, 'x')};
}

// The PT_LOAD headers of each module, read once per decode.
class Segments {
 public:
  const std::vector<LoadSegment>& of(const std::string& path) {
    auto it = by_path_.find(path);
    if (it == by_path_.end()) it = by_path_.emplace(path, load_segments(path)).first;
    return it->second;
  }

 private:
  std::map<std::string, std::vector<LoadSegment>> by_path_;
};

std::optional<std::uintptr_t> bias_of(const Mapping& m, Segments& segments) {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  return load_bias(segments.of(m.path), range_of(m), page);
}

bool same_inode(const std::string& path, const std::string& inode) {
  struct ::stat st {};
  return ::stat(path.c_str(), &st) == 0 && std::to_string(st.st_ino) == inode;
}

Decoded decode_frame(std::uintptr_t addr, const Dump& d, const std::vector<Mapping>& mine, Segments& segments) {
  std::ostringstream out;
  const Mapping* then = containing(d.maps, addr);
  if (then == nullptr) {
    out << "0x" << std::hex << addr << " (no module)";
    return {out.str(), {}};
  }
  // The file is the same one only if the inode is; its headers are read
  // from the file as it is now, so a replaced file is never asked.
  const bool same_file = same_inode(then->path, then->inode);
  const std::optional<std::uintptr_t> then_bias = same_file ? bias_of(*then, segments) : std::nullopt;
  const std::uintptr_t link_address = addr - then_bias.value_or(0);
  std::string module_address;
  {
    std::ostringstream mo;
    if (then_bias) mo << then->path << "+0x" << std::hex << link_address;
    else mo << then->path << " file offset 0x" << std::hex << addr - then->start + then->offset;
    module_address = mo.str();
  }
  for (const auto& now : mine) {
    if (!then_bias || now.path != then->path || now.inode != then->inode) continue;
    const std::optional<std::uintptr_t> now_bias = bias_of(now, segments);
    if (!now_bias) continue;
    const std::uintptr_t here = link_address + *now_bias;
    if (here < now.start || here >= now.end) continue;
    const boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(here));
    std::string name = f.name();
    const std::string file = f.source_file();
    const std::size_t line = f.source_line();
    out << (name.empty() ? "??" : name);
    if (!file.empty()) out << " at " << file << ":" << line;
    out << " (" << module_address << ")";
    return {out.str(), name};
  }
  const bool replaced = std::any_of(mine.begin(), mine.end(), [&](const Mapping& m) { return m.path == then->path; });
  out << module_address
      << (!same_file && replaced ? " (the file has changed since the crash)"
          : same_file && !then_bias ? " (its ELF program headers do not match the mapping)"
                                    : " (not loaded in this process)");
  return {out.str(), {}};
}

// Frames of the crash machinery itself, and of the abort path, are not "where".
bool is_machinery(const std::string& fn) {
  static const char* const kPrefixes[] = {"weft::crash::", "boost::stacktrace::", "__restore_rt", "raise",
                                          "abort", "__pthread_kill", "pthread_kill", "gsignal", "std::terminate",
                                          "__cxxabiv1::", "__cxa_", "__gnu_cxx::__verbose_terminate_handler",
                                          "_Unwind_", "__GI_", "__gxx_personality"};
  for (const char* p : kPrefixes)
    if (fn.rfind(p, 0) == 0) return true;
  return fn.empty();
}

std::string header_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ": ", 0) == 0) return line.substr(key.size() + 2);
  return {};
}

CrashReport report_from(const fs::path& path, const std::string& text) {
  return CrashReport{path.string(), header_value(text, "time"), header_value(text, "cause"),
                     header_value(text, "service"), header_value(text, "where"), {}};
}

CrashReport read_report(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return report_from(path, buf.str());
}

std::vector<fs::path> files_with(const std::string& dir, const std::string& ext) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ext) out.push_back(it->path());
  std::sort(out.begin(), out.end());  // stamps sort by time
  return out;
}

// Empty on success, else why not (a full disk: ENOSPC). A failed attempt
// leaves nothing behind, so it does not hold on to what space there is.
std::string write_atomically(const fs::path& path, const std::string& text) {
  const AtomicWriteError e = atomic_replace(path.string(), text);
  if (!e) return {};
  if (std::string_view(e.doing) == "rename")
    return "cannot rename " + e.path + " to " + path.string() + ": " + std::strerror(e.err);
  return e.message();
}

}  // namespace

std::vector<CrashReport> decode_pending(const std::string& crash_dir, std::size_t keep) {
  std::vector<CrashReport> out;
  const std::vector<Mapping> mine = own_maps();
  Segments segments;
  for (const fs::path& dump_path : files_with(crash_dir, ".dump")) {
    const Dump d = read_dump(dump_path);
    std::ostringstream text;
    text << "weft crash report\n"
         << "time: " << d.time << "\n"
         << "pid: " << d.pid << "\n"
         << "cause: " << d.cause << "\n"
         << "service: " << d.service << "\n"
         << "thread: " << d.thread << "\n";
    std::vector<Decoded> frames;
    for (std::uintptr_t a : d.frames) frames.push_back(decode_frame(a, d, mine, segments));
    // "where": from the faulting pc's frame (signals) or the top, the first
    // frame that is not the crash or abort machinery.
    std::size_t first = 0;
    for (std::size_t i = 0; i < d.frames.size(); ++i)
      if (d.pc != 0 && d.frames[i] == d.pc) first = i;
    std::string where = "(unknown)";
    for (std::size_t i = first; i < frames.size(); ++i)
      if (!is_machinery(frames[i].function)) {
        where = frames[i].text;
        break;
      }
    text << "where: " << where << "\n"
         << "report: " << (dump_path.parent_path() / dump_path.stem()).string() << ".txt\n"
         << "stack (innermost first):\n";
    for (std::size_t i = 0; i < frames.size(); ++i) text << "  #" << i << " " << frames[i].text << "\n";
    if (frames.empty()) text << "  (not recorded: the crash handler faulted while unwinding)\n";
    for (const DumpedRing& ring : d.rings) render_ring(text, ring, d.mono_ns);
    const fs::path report_path = dump_path.parent_path() / (dump_path.stem().string() + ".txt");
    const std::string error = write_atomically(report_path, text.str());
    CrashReport report = report_from(report_path, text.str());
    std::error_code ec;
    if (error.empty()) fs::remove(dump_path, ec);
    else report.write_error = error + "; the dump " + dump_path.string() + " is kept and decoded again at the next start";
    out.push_back(std::move(report));
  }
  remove_abandoned_temps(crash_dir);  // reports cut short by a kill during an earlier start
  auto reports = files_with(crash_dir, ".txt");
  while (reports.size() > keep) {
    std::error_code ec;
    fs::remove(reports.front(), ec);
    reports.erase(reports.begin());
  }
  return out;
}

std::vector<CrashReport> list_reports(const std::string& crash_dir) {
  std::vector<CrashReport> out;
  for (const fs::path& p : files_with(crash_dir, ".txt")) out.push_back(read_report(p));
  return out;
}

std::string describe(const CrashReport& r) {
  std::string line = "previous run crashed: " + r.cause + " in service " + r.service + " at " + r.where + " (" +
                     r.time + "; report: " + r.path;
  if (!r.write_error.empty()) line += "; not written: " + r.write_error;
  return line + ")";
}

}  // namespace weft::crash

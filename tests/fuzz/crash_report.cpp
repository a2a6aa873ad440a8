// Fuzz target: the crash-report decoder (core/src/crash_report.cpp) and the
// ELF program header reader it relies on (core/src/elf_segments.cpp). A dump
// is what a dying process wrote, possibly cut short or torn, so the next
// start must decode any bytes. The input is written as the one pending dump
// in a private directory and decode_pending() turns it into a report; in the
// dump, @EXE@ and @INODE@ become this binary's path and inode, so frames can
// reach the symbolising path. Inputs starting with 0x7f are ELF files instead.
// Invariants:
// - one report per dump, written (no write error), with a cause, a service
//   and a where; the dump is gone afterwards; describe() names the report;
// - load_segments never reads past the file, and load_bias finds the bias a
//   segment was mapped with whenever only that segment can have produced it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_support.hpp"
#include "weft/core/crash_report.hpp"
#include "weft/core/elf_segments.hpp"

namespace {

namespace fs = std::filesystem;
using namespace weft::crash;

const fs::path& work_dir() {
  static const fs::path dir = [] {
    // tmpfs when there is one: the report is written with fsync, which a disk makes slow.
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "weft-fuzz-crash-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot make a temp dir");
    // libFuzzer ends with exit(): leave nothing behind in /dev/shm. A plain
    // buffer, as `dir` itself is destroyed before this handler runs.
    static char to_remove[4096];
    std::snprintf(to_remove, sizeof to_remove, "%s", pattern.c_str());
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(to_remove, ec);
    });
    return fs::path(pattern);
  }();
  return dir;
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  FUZZ_CHECK(out.good(), "cannot write %s", path.c_str());
}

std::string with_self(std::string_view text) {
  static const std::string exe = fs::canonical("/proc/self/exe").string();
  static const std::string inode = [] {
    struct ::stat st {};
    ::stat(exe.c_str(), &st);
    return std::to_string(st.st_ino);
  }();
  std::string out(text);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"@EXE@", exe}, {"@INODE@", inode}})
    for (std::size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  return out;
}

void check_dump(std::string_view bytes) {
  const fs::path dump = work_dir() / "20260101T000000Z-1.dump";
  write_file(dump, with_self(bytes));
  const std::vector<CrashReport> reports = decode_pending(work_dir().string(), 0);
  FUZZ_CHECK(reports.size() == 1, "%zu reports for one dump", reports.size());
  const CrashReport& r = reports.front();
  FUZZ_CHECK(r.write_error.empty(), "report not written: %s", r.write_error.c_str());
  FUZZ_CHECK(!r.cause.empty() && !r.service.empty() && !r.where.empty(), "a report without cause, service or where");
  FUZZ_CHECK(!fs::exists(dump), "the dump was not removed after its report was written");
  FUZZ_CHECK(describe(r).find(r.path) != std::string::npos, "describe() does not name the report");
}

void check_elf(std::string_view bytes, std::uint64_t bias) {
  const fs::path elf = work_dir() / "module.elf";
  write_file(elf, bytes);
  const std::vector<LoadSegment> segments = load_segments(elf.string());
  constexpr std::uint64_t page = 4096;
  const auto down = [](std::uint64_t v) { return v & ~(page - 1); };
  for (const LoadSegment& s : segments) {
    if (s.filesz == 0) continue;
    const MappedRange m{static_cast<std::uintptr_t>(bias + down(s.vaddr)), static_cast<std::uintptr_t>(bias + down(s.vaddr) + page),
                        static_cast<std::uintptr_t>(down(s.offset)), s.read, s.write, s.exec};
    std::size_t candidates = 0;
    for (const LoadSegment& o : segments)
      if (o.exec == m.exec && o.filesz != 0 && m.offset >= down(o.offset) && m.offset < o.offset + o.filesz) ++candidates;
    const auto found = load_bias(segments, m, page);
    FUZZ_CHECK(found.has_value() == (candidates > 0), "load_bias and the candidate count disagree");
    if (candidates == 1) FUZZ_CHECK(*found == static_cast<std::uintptr_t>(bias), "wrong bias for the only candidate");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size > 0 && data[0] == 0x7f) {
    weft::fuzz::FuzzBytes in(data + size - std::min<std::size_t>(size, 2), std::min<std::size_t>(size, 2));
    check_elf(bytes, static_cast<std::uint64_t>(in.u16()) << 12);
  } else {
    check_dump(bytes);
  }
  return 0;
}

// Critical sections (critical_section.hpp): the guard, what operator new
// does inside one, and the report of an allocation site. The abort path
// prints with write(2) and a stack trace, then aborts: it is a programming
// error caught in a test or debug build, not something to recover from.
#define BOOST_STACKTRACE_LINK  // the backend is the linked library (core/CMakeLists.txt)
#include "weft/core/critical_section.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <boost/stacktrace/frame.hpp>
#include <boost/stacktrace/stacktrace.hpp>

#include "critical_hooks.hpp"

namespace weft {

struct CriticalSectionAccess {
  static CriticalStats& stats(CriticalSection& s) noexcept { return s.stats_; }
  static CriticalSection* outer(CriticalSection& s) noexcept { return s.outer_; }
  static void stop_counting(CriticalSection& s) noexcept { s.counting_ = false; }
  static std::uint64_t slice_serial(const CriticalSection& s) noexcept { return s.slice_serial_; }
};

namespace {

#ifdef NDEBUG
constexpr CriticalAllocation kDefaultMode = CriticalAllocation::count;
#else
constexpr CriticalAllocation kDefaultMode = CriticalAllocation::abort;
#endif
std::atomic<CriticalAllocation> g_mode{kDefaultMode};

std::int64_t steady_ns() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }

void write_all(const std::string& text) noexcept {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

[[noreturn]] void abort_on_allocation(std::size_t size, const void* site) noexcept {
  detail::set_current_critical(nullptr);  // what follows allocates
  try {
    std::ostringstream out;
    out << "weft: allocation of " << size << " bytes inside a critical section, at " << describe_code_address(site)
        << " ([realtime] critical_allocations = \"abort\"); stack:\n"
        << boost::stacktrace::stacktrace();
    write_all(out.str());
  } catch (...) {
    write_all("weft: allocation inside a critical section (no stack trace: out of memory)\n");
  }
  std::abort();
}

}  // namespace

void set_critical_allocation_mode(CriticalAllocation mode) noexcept { g_mode.store(mode, std::memory_order_relaxed); }
CriticalAllocation critical_allocation_mode() noexcept { return g_mode.load(std::memory_order_relaxed); }

CriticalSection::CriticalSection(CriticalStats& stats) noexcept
    : stats_(stats),
      outer_(detail::current_critical()),
      faults_at_start_(thread_faults()),
      started_ns_(steady_ns()),
      slice_serial_(detail::current_slice_serial()) {
  detail::set_current_critical(this);
}

CriticalSection::~CriticalSection() {
  const std::int64_t ended = steady_ns();
  const FaultCount faults = thread_faults();
  ++stats_.runs;
  stats_.durations.record(std::chrono::nanoseconds(ended - started_ns_));
  if (!counting_) return;  // its slice ended under it: already popped
  stats_.minor_faults += faults.minor - faults_at_start_.minor;
  stats_.major_faults += faults.major - faults_at_start_.major;
  detail::set_current_critical(outer_);
}

namespace detail {

void on_critical_allocation(CriticalSection& section, std::size_t size, const void* site) noexcept {
  if (critical_allocation_mode() == CriticalAllocation::abort) abort_on_allocation(size, site);
  CriticalStats& stats = CriticalSectionAccess::stats(section);
  ++stats.allocations;
  stats.allocated_bytes += size;
  stats.last_allocation_site = site;
}

void pop_sections_of_slice(std::uint64_t ending) noexcept {
  CriticalSection* s = current_critical();
  while (s != nullptr && CriticalSectionAccess::slice_serial(*s) == ending) {
    ++CriticalSectionAccess::stats(*s).suspended;
    CriticalSectionAccess::stop_counting(*s);
    s = CriticalSectionAccess::outer(*s);
  }
  set_current_critical(s);
}

}  // namespace detail

std::string describe_code_address(const void* address) {
  if (address == nullptr) return "an unknown place";
  // A return address points after the call: step back into it.
  const auto* inside = static_cast<const char*>(address) - 1;
  const boost::stacktrace::frame f(reinterpret_cast<boost::stacktrace::frame::native_frame_ptr_t>(inside));
  std::ostringstream out;
  const std::string name = f.name();
  out << (name.empty() ? "?" : name);
  const std::string file = f.source_file();
  if (!file.empty()) out << " at " << file << ":" << f.source_line();
  else out << " (" << address << ")";
  return out.str();
}

}  // namespace weft

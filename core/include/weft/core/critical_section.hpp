// Critical sections (the real-time profile, issue 17): code that must not
// allocate, fault or block, marked by a guard object for its scope:
//
//   {
//     const weft::CriticalSection cs = ctx.critical();
//     output = controller.step(input);   // no new, no page fault, no co_await
//   }
//
// While a section is open on a thread, every operator new on that thread is
// counted with its call site (the latest one is kept), or, in abort mode,
// prints the allocation and a stack trace and aborts: the default in
// builds without NDEBUG, `[realtime] critical_allocations = "abort"`
// otherwise. The thread's minor and major page faults before and after are
// compared (two getrusage calls: about 0.5 us per section), and the section's
// duration is recorded in a histogram. A section must not span a co_await:
// a slice that ends with a section open is counted as `suspended` and the
// section stops counting there (other services' work is not charged to it).
// Loop thread only; sections nest (the innermost one counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "weft/core/loop_lag.hpp"
#include "weft/core/realtime.hpp"

namespace weft {

struct CriticalStats {
  std::uint64_t runs = 0;
  std::uint64_t allocations = 0;        // operator new calls inside
  std::uint64_t allocated_bytes = 0;
  const void* last_allocation_site = nullptr;  // return address of the latest one (symbolised by `rt`)
  std::uint64_t minor_faults = 0;
  std::uint64_t major_faults = 0;
  std::uint64_t suspended = 0;          // sections still open when their slice ended (a co_await inside)
  LagHistogram durations;               // how long each section ran
};

// Process-wide (CriticalAllocation is in realtime.hpp); set once at start
// (weftd: [realtime] critical_allocations).
void set_critical_allocation_mode(CriticalAllocation mode) noexcept;
CriticalAllocation critical_allocation_mode() noexcept;

class CriticalSection {
public:
  explicit CriticalSection(CriticalStats& stats) noexcept;
  ~CriticalSection();
  CriticalSection(const CriticalSection&) = delete;
  CriticalSection& operator=(const CriticalSection&) = delete;

private:
  friend struct CriticalSectionAccess;
  CriticalStats& stats_;
  CriticalSection* outer_;
  FaultCount faults_at_start_;
  std::int64_t started_ns_;
  std::uint64_t slice_serial_;  // of the slice it was opened in (0: outside any)
  bool counting_ = true;  // false once its slice ended under it
};

// Every operator new the calling thread has made (for tests and benchmarks
// that prove a path allocation-free).
std::uint64_t thread_allocations() noexcept;

// "function at file:line" for an allocation site, via the stack trace
// library; "0x..." when it cannot be resolved. Off the loop: it may read
// debug information from disk.
std::string describe_code_address(const void* address);

}  // namespace weft

// Crash reports. install_crash_handlers() makes a crash leave a dump in
// <crash_dir>: std::terminate (an uncaught exception anywhere, including one
// escaping a loop handler) and SIGSEGV/SIGBUS/SIGABRT/SIGFPE (handled on an
// alternate signal stack). The signal handler does only async-signal-safe
// work: it writes, with write(2), a small text header (time, signal, fault
// address, the service running on the loop), the raw return addresses
// (boost::stacktrace::safe_dump_to into a static buffer) and a copy of
// /proc/self/maps, then re-raises the signal with its default action.
// The next start decodes pending dumps into readable reports (<stamp>.txt:
// the addresses are relocated through the saved maps, so ASLR does not
// matter as long as the binary is the same) and logs one line per crash.
// Rings registered with watch_ring() (the serial flight recorders) are
// copied into the dump too, and rendered in the report as "TITLE: last frames".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft {

struct ServiceStats;
class LoopBeacon;

namespace crash {

// Process-wide, idempotent. `crash_dir` is created if missing; if it cannot
// be (a full disk), the handlers are installed anyway and the error is
// returned (empty: none). Only the calling thread gets the alternate stack
// (the loop thread: a stack overflow there, a stackful service's included,
// is still reported); other threads' crashes are reported as long as their
// own stack has room.
std::string install_crash_handlers(const std::string& crash_dir);
// What the handler reads to name the running service. The table is copied
// into fixed-size buffers; call before the loop runs; null/empty to clear.
void set_loop(const LoopBeacon* beacon, const std::vector<std::pair<const ServiceStats*, std::string>>& names);

// Where the fields of one slot of a watched ring are (byte offsets in the
// slot, fixed-width fields), so that the next start can render the raw
// bytes a dying process wrote without knowing the slot's C++ type.
struct RingLayout {
  std::size_t stride = 0;     // bytes per slot
  std::size_t capacity = 0;   // slots
  std::size_t mono_ns = 0;    // std::int64_t, CLOCK_MONOTONIC nanoseconds
  std::size_t direction = 0;  // std::uint8_t: 0 tx, 1 rx
  std::size_t verdict = 0;    // std::uint8_t: index into `verdicts`
  std::size_t length = 0;     // std::uint16_t: bytes on the wire
  std::size_t kept = 0;       // std::uint16_t: bytes stored (at most stride - bytes)
  std::size_t bytes = 0;      // the stored bytes
  std::string verdicts;       // names of the verdict values, space-separated
};

// Unregisters its ring when destroyed. Move-only; empty if the table was full.
class RingHandle {
public:
  RingHandle() = default;
  explicit RingHandle(int slot) noexcept : slot_(slot) {}
  RingHandle(RingHandle&& o) noexcept : slot_(o.slot_) { o.slot_ = -1; }
  RingHandle& operator=(RingHandle&& o) noexcept;
  RingHandle(const RingHandle&) = delete;
  RingHandle& operator=(const RingHandle&) = delete;
  ~RingHandle();
  explicit operator bool() const noexcept { return slot_ >= 0; }

private:
  int slot_ = -1;
};

// Makes every later crash dump carry the ring at `base` (layout.capacity
// slots of layout.stride bytes; *next_index is the slot written next,
// *total the number of slots ever written), under `title`. The memory must
// stay where it is while the handle lives. A fixed table of kMaxRings: when
// full, the handle is empty and the ring is not in crash reports.
// Thread-safe registration; the handler reads the ring without a lock, so a
// crash while its owner records may show one torn slot.
constexpr std::size_t kMaxRings = 16;
RingHandle watch_ring(const std::string& title, const void* base, const RingLayout& layout,
                      const std::size_t* next_index, const std::uint64_t* total);

struct CrashReport {
  std::string path;     // the readable report (<stamp>.txt)
  std::string time;     // "2026-11-22T17:48:07Z"
  std::string cause;    // "SIGSEGV (fault address 0x0)", "uncaught exception std::runtime_error: ..."
  std::string service;  // running on the loop, or "(none)"
  std::string where;    // the first frame that is not crash machinery: "fn at file:line"
  std::string write_error;  // empty, or why `path` could not be written (a full disk)
};

// Decodes every pending dump in `crash_dir` into a report (written before
// the dump is removed, so a crash here only means decoding again) and
// returns the new reports, oldest first. Keeps the newest `keep` reports.
// A report that cannot be written (a full disk) is still returned, decoded,
// with write_error set; its dump stays for the next call. A dump cut short
// is decoded as far as it goes. File errors are never thrown.
// Blocking file I/O and symbolisation: before the loop, or on the pool.
std::vector<CrashReport> decode_pending(const std::string& crash_dir, std::size_t keep = 20);
// Every report in `crash_dir`, oldest first.
std::vector<CrashReport> list_reports(const std::string& crash_dir);
// The one line the next start logs for a report (with write_error, if any).
std::string describe(const CrashReport& report);

}  // namespace crash
}  // namespace weft

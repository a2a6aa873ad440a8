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
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace weft {

struct ServiceStats;
struct LoopBeacon;

namespace crash {

// Process-wide, idempotent. `crash_dir` is created if missing. Only the
// calling thread gets the alternate stack (the loop thread: a stack
// overflow there is still reported); other threads' crashes are reported
// as long as their own stack has room.
void install_crash_handlers(const std::string& crash_dir);
// What the handler reads to name the running service. The table is copied
// into fixed-size buffers; call before the loop runs; null/empty to clear.
void set_loop(const LoopBeacon* beacon, const std::vector<std::pair<const ServiceStats*, std::string>>& names);

struct CrashReport {
  std::string path;     // the readable report (<stamp>.txt)
  std::string time;     // "2026-11-22T17:48:07Z"
  std::string cause;    // "SIGSEGV (fault address 0x0)", "uncaught exception std::runtime_error: ..."
  std::string service;  // running on the loop, or "(none)"
  std::string where;    // the first frame that is not crash machinery: "fn at file:line"
};

// Decodes every pending dump in `crash_dir` into a report (written before
// the dump is removed, so a crash here only means decoding again) and
// returns the new reports, oldest first. Keeps the newest `keep` reports.
// Blocking file I/O and symbolisation: before the loop, or on the pool.
std::vector<CrashReport> decode_pending(const std::string& crash_dir, std::size_t keep = 20);
// Every report in `crash_dir`, oldest first.
std::vector<CrashReport> list_reports(const std::string& crash_dir);
// The one line the next start logs for a report.
std::string describe(const CrashReport& report);

}  // namespace crash
}  // namespace weft

// Measuring instruments shared by every benchmark: a log-linear latency
// histogram (record = a few integer ops, no allocation), process/thread CPU
// and RSS readings from the kernel (of this process or another), and running this binary as a fresh child
// process whose "result key=value ..." line the parent parses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace weft::bench {

// Latency in ns, log-linear: exact below 128 ns, then 128 buckets per power
// of two (relative error < 0.8 %), up to 2^40 ns (~18 min). Fixed size, so
// recording never allocates. max and mean are exact.
class LatencyHistogram {
public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
  static constexpr int kMaxExp = 40;
  static constexpr std::size_t kBuckets = (kMaxExp - kSubBits + 2) * kSub;

  void record(std::int64_t ns) noexcept {
    if (ns < 0) {  // never expected (no wake before the deadline); counted, not hidden
      ++negative_;
      ns = 0;
    }
    ++count_;
    sum_ += static_cast<std::uint64_t>(ns);
    if (ns > max_) max_ = ns;
    ++counts_[index(static_cast<std::uint64_t>(ns))];
  }
  void reset() noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t negative() const noexcept { return negative_; }
  std::int64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The value at quantile q (0..1]: the midpoint of the bucket holding it, at most max().
  std::int64_t percentile(double q) const noexcept;

private:
  static std::size_t index(std::uint64_t v) noexcept;
  static std::uint64_t lower_bound(std::size_t idx) noexcept;
  static std::uint64_t width(std::size_t idx) noexcept;

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t negative_ = 0;
  std::uint64_t sum_ = 0;
  std::int64_t max_ = 0;
};

// CPU and scheduling counters of this process at one instant.
struct CpuSample {
  std::int64_t mono_ns = 0;     // CLOCK_MONOTONIC
  std::int64_t process_ns = 0;  // CLOCK_PROCESS_CPUTIME_ID: every thread, user + sys
  std::int64_t thread_ns = 0;   // CLOCK_THREAD_CPUTIME_ID of the calling (loop) thread
  std::int64_t user_us = 0;     // getrusage(RUSAGE_SELF)
  std::int64_t sys_us = 0;
  std::int64_t voluntary_switches = 0;    // ru_nvcsw: times a thread blocked (e.g. in epoll_wait)
  std::int64_t involuntary_switches = 0;  // ru_nivcsw: preemptions
};
CpuSample sample_cpu() noexcept;

// VmRSS from /proc/self/status, KiB; -1 if unreadable.
std::int64_t read_vmrss_kib();
// The same readings of another process (a weftd the bench runs), from
// /proc/PID: VmRSS in KiB; for thread TID, the time it ran and the time it
// was runnable but waited for a CPU (task/TID/schedstat: the scheduler's
// own sums in ns, where task/TID/stat counts clock ticks; the wait says how
// much a busy host, not the thread's own work, delayed it); every thread's
// CPU together, ended ones included (PID/stat utime + stime, in clock ticks
// of 10 ms). -1 when unreadable (the process has gone).
std::int64_t read_vmrss_kib(pid_t pid);
struct ThreadSched {
  std::int64_t on_cpu_ns = -1;
  std::int64_t runqueue_ns = -1;
};
ThreadSched thread_sched(pid_t pid, pid_t tid);
std::int64_t process_cpu_ns(pid_t pid);
// Time the hypervisor ran something else while this host's CPUs wanted to
// run (the "steal" column of /proc/stat's cpu line, all CPUs summed), ns; -1
// if unreadable. On a VM it explains lateness no scheduling of ours can.
std::int64_t host_steal_ns();

// Bytes malloc has handed out and not had back (mallinfo2: arena + mmapped).
std::int64_t heap_in_use_bytes() noexcept;

// One "result key=value ..." line on stdout, flushed: what a child reports.
class ResultLine {
public:
  ResultLine& add(const std::string& key, std::int64_t value);
  ResultLine& add(const std::string& key, std::uint64_t value);
  ResultLine& add(const std::string& key, const std::string& value);
  void print() const;

private:
  std::string text_ = "result";
};

using ChildResult = std::map<std::string, std::string>;
// Runs this executable (/proc/self/exe) with `args` in a fresh process,
// stdout captured, stderr shared. Returns the keys of its "result" line;
// throws std::runtime_error if it fails or prints none. With a `wrapper`
// (a command and its options, e.g. valgrind's), the child is that command
// run on this executable's path and `args`.
ChildResult run_self(const std::vector<std::string>& args, const std::vector<std::string>& wrapper = {});
// A numeric key of a child result; throws naming the key if it is missing.
double number(const ChildResult& r, const std::string& key);

}  // namespace weft::bench

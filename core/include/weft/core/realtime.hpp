// The real-time profile ([realtime], off by default): what the kernel is
// asked for so that the loop is not paged out or pre-empted by lesser work.
//
//   lock_memory     mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT), glibc
//                   told never to trim or mmap its heap, a heap reserve and
//                   the loop's stack touched once at start
//   policy          "other" (default), "fifo" or "rr", with `priority`, for
//                   the loop thread only; `cpus` pins it
//   helper_cpus     every other thread (blocking pool, store, log, stall
//                   monitor) is SCHED_OTHER and pinned here
//   cpu_dma_latency /dev/cpu_dma_latency held at 0 while weftd runs
//   critical_allocations  "count" or "abort" (critical_section.hpp)
//   required        true (default): a refusal by the kernel is fatal
//                   (RealtimeError names what is missing and the systemd
//                   directives that grant it); false: it is a warning
//
// Guarantees: applied once, on the loop thread, before any service starts
// (Runtime::run). Threads that exist then are moved to the helper CPUs and
// SCHED_OTHER; a thread weft starts later calls enter_helper_thread()
// first, so none inherits the loop's policy. Without MCL_ONFAULT every
// thread's whole 8 MiB stack would be made resident; with it pages are
// locked as they are first touched, and the loop's are touched at start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace weft {

enum class SchedPolicy { other, fifo, rr };
// An allocation inside a critical section (critical_section.hpp): counted,
// or a stack trace and abort.
enum class CriticalAllocation { count, abort };

struct RealtimeOptions {
  bool lock_memory = false;
  std::size_t heap_reserve = std::size_t{1} << 20;    // touched at start (lock_memory)
  std::size_t stack_reserve = std::size_t{128} << 10;  // of the loop thread's stack (lock_memory)
  SchedPolicy policy = SchedPolicy::other;
  int priority = 80;             // 1..99, fifo and rr only
  std::vector<int> cpus;         // the loop thread's CPUs; empty: left as is
  std::vector<int> helper_cpus;  // every other thread's; empty: left as is
  bool cpu_dma_latency = false;
  bool required = true;
  // Unset: abort in builds without NDEBUG, count otherwise.
  std::optional<CriticalAllocation> critical_allocations;

  bool any() const noexcept {
    return lock_memory || policy != SchedPolicy::other || !cpus.empty() || !helper_cpus.empty() || cpu_dma_latency;
  }
};

const char* to_string(SchedPolicy p) noexcept;

// The kernel refused part of a required profile: what() names the call,
// the missing permission and what grants it.
class RealtimeError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// A helper thread's first call: names it (at most 15 characters, shown by
// `rt`, top and /proc) and, once a profile with a policy or helper_cpus
// is applied, makes it SCHED_OTHER on helper_cpus. Never throws.
void enter_helper_thread(const char* name) noexcept;

// Page faults taken by the calling thread (getrusage RUSAGE_THREAD).
struct FaultCount {
  std::uint64_t minor = 0;
  std::uint64_t major = 0;
};
FaultCount thread_faults() noexcept;

// The applied profile, for the console's `rt`. Holds /dev/cpu_dma_latency
// open while it lives.
class RealtimeProfile {
public:
  // Applies `options` to the calling thread (the loop) and the process.
  // Throws RealtimeError when the kernel refuses and options.required;
  // otherwise each refusal is in warnings().
  explicit RealtimeProfile(const RealtimeOptions& options);
  ~RealtimeProfile();
  RealtimeProfile(const RealtimeProfile&) = delete;
  RealtimeProfile& operator=(const RealtimeProfile&) = delete;

  const RealtimeOptions& options() const noexcept { return options_; }
  const std::vector<std::string>& warnings() const noexcept { return warnings_; }
  int loop_tid() const noexcept { return loop_tid_; }
  bool memory_locked() const noexcept { return memory_locked_; }
  bool policy_applied() const noexcept { return policy_applied_; }
  bool dma_latency_held() const noexcept { return dma_fd_ >= 0; }
  std::size_t helpers_moved() const noexcept { return helpers_moved_; }

private:
  void refuse(std::string message);  // throws when required, else a warning
  void lock_memory();
  void set_loop_policy();
  void pin_loop();
  void move_helpers();
  void hold_dma_latency();

  RealtimeOptions options_;
  std::vector<std::string> warnings_;
  int loop_tid_ = 0;
  int dma_fd_ = -1;
  bool memory_locked_ = false;
  bool policy_applied_ = false;
  std::size_t helpers_moved_ = 0;
};

}  // namespace weft

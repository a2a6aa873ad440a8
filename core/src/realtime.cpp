// Applies the real-time profile (realtime.hpp). Every refusal by the kernel
// is turned into a message that names the call, the limit or capability
// that is missing, and the systemd directive that grants it.
#include "weft/core/realtime.hpp"

#include <alloca.h>
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace weft {
namespace {

// Set once by RealtimeProfile before any helper thread can read it
// (release/acquire on `placed`), never changed afterwards.
struct HelperPlacement {
  cpu_set_t cpus;
  bool pin = false;
  bool demote = false;
};
HelperPlacement g_placement;
std::atomic<bool> g_placed{false};

int current_tid() noexcept { return static_cast<int>(::syscall(SYS_gettid)); }

std::string errno_text(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

std::string rlimit_text(int resource) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0) return "unknown";
  if (r.rlim_cur == RLIM_INFINITY) return "unlimited";
  return std::to_string(static_cast<unsigned long long>(r.rlim_cur));
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ", ") + std::to_string(c);
  return "[" + out + "]";
}

std::string allowed_cpus_text() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return "unknown";
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpu_list(cpus);
}

cpu_set_t to_set(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus)
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
  return set;
}

int to_native(SchedPolicy p) noexcept {
  switch (p) {
    case SchedPolicy::fifo: return SCHED_FIFO;
    case SchedPolicy::rr: return SCHED_RR;
    case SchedPolicy::other: break;
  }
  return SCHED_OTHER;
}

// Pages of the heap reserve and of the loop's stack, touched once so that
// (with memory locked) the loop does not fault on them later.
void touch_heap(std::size_t bytes) {
  if (bytes == 0) return;
  auto* p = static_cast<volatile char*>(std::malloc(bytes));
  if (p == nullptr) return;
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 0;
  std::free(const_cast<char*>(p));  // trimming is off: the pages stay in the heap
}

[[gnu::noinline]] void touch_stack(std::size_t bytes) {
  if (bytes == 0) return;
  auto* p = static_cast<volatile char*>(alloca(bytes));
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 0;
}

}  // namespace

const char* to_string(SchedPolicy p) noexcept {
  switch (p) {
    case SchedPolicy::other: return "other";
    case SchedPolicy::fifo: return "fifo";
    case SchedPolicy::rr: return "rr";
  }
  return "?";
}

void enter_helper_thread(const char* name) noexcept {
  (void)::pthread_setname_np(::pthread_self(), name);
  if (!g_placed.load(std::memory_order_acquire)) return;
  if (g_placement.demote) {
    sched_param param{};
    param.sched_priority = 0;
    (void)::sched_setscheduler(0, SCHED_OTHER, &param);  // lowering one's own policy needs no permission
  }
  if (g_placement.pin) (void)::sched_setaffinity(0, sizeof g_placement.cpus, &g_placement.cpus);
}

FaultCount thread_faults() noexcept {
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) != 0) return {};
  return {static_cast<std::uint64_t>(ru.ru_minflt), static_cast<std::uint64_t>(ru.ru_majflt)};
}

RealtimeProfile::RealtimeProfile(const RealtimeOptions& options) : options_(options), loop_tid_(current_tid()) {
  // Placement of helpers first: a helper started while the rest is applied
  // must already find it.
  g_placement.cpus = to_set(options_.helper_cpus);
  g_placement.pin = !options_.helper_cpus.empty();
  g_placement.demote = options_.policy != SchedPolicy::other;
  g_placed.store(g_placement.pin || g_placement.demote, std::memory_order_release);
  if (options_.lock_memory) lock_memory();
  pin_loop();
  set_loop_policy();
  move_helpers();
  if (options_.cpu_dma_latency) hold_dma_latency();
}

RealtimeProfile::~RealtimeProfile() {
  if (dma_fd_ >= 0) ::close(dma_fd_);  // the kernel drops the request with the descriptor
}

void RealtimeProfile::refuse(std::string message) {
  if (options_.required) throw RealtimeError(message);
  warnings_.push_back(std::move(message) + " (required = false: weftd goes on without it)");
}

void RealtimeProfile::lock_memory() {
  // Never give heap memory back, never serve a request with its own mmap:
  // both would mean page faults (and unlocked pages) later.
  (void)::mallopt(M_TRIM_THRESHOLD, -1);
  (void)::mallopt(M_MMAP_MAX, 0);
  if (::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    const int err = errno;
    refuse("[realtime] lock_memory: mlockall failed: " + errno_text(err) + "; RLIMIT_MEMLOCK is " +
           rlimit_text(RLIMIT_MEMLOCK) +
           " bytes and weftd has no CAP_IPC_LOCK. Grant it with LimitMEMLOCK=infinity in the unit (or "
           "AmbientCapabilities=CAP_IPC_LOCK), or set lock_memory = false");
    return;
  }
  memory_locked_ = true;
  touch_heap(options_.heap_reserve);
  touch_stack(options_.stack_reserve);
}

void RealtimeProfile::pin_loop() {
  if (options_.cpus.empty()) return;
  const cpu_set_t set = to_set(options_.cpus);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) {
    const int err = errno;
    refuse("[realtime] cpus = " + cpu_list(options_.cpus) + ": sched_setaffinity failed: " + errno_text(err) +
           "; weftd may run on CPUs " + allowed_cpus_text() + " (CPUAffinity= in the unit, or the cgroup's cpuset, "
           "limits them). Choose cpus among those");
  }
}

void RealtimeProfile::set_loop_policy() {
  if (options_.policy == SchedPolicy::other) return;
  sched_param param{};
  param.sched_priority = options_.priority;
  const int err = ::pthread_setschedparam(::pthread_self(), to_native(options_.policy), &param);
  if (err == 0) {
    policy_applied_ = true;
    return;
  }
  std::string why = "[realtime] policy = \"" + std::string(to_string(options_.policy)) + "\", priority = " +
                    std::to_string(options_.priority) + ": the kernel refused the loop thread's scheduling policy: " +
                    errno_text(err) + "; ";
  if (err == EPERM)
    why += "weftd needs CAP_SYS_NICE or RLIMIT_RTPRIO >= " + std::to_string(options_.priority) + " (it is " +
           rlimit_text(RLIMIT_RTPRIO) + "). Grant it in the unit with LimitRTPRIO=" + std::to_string(options_.priority) +
           " (or AmbientCapabilities=CAP_SYS_NICE; CPUSchedulingPolicy=" + to_string(options_.policy) +
           " with CPUSchedulingPriority=" + std::to_string(options_.priority) +
           " also works: weft moves its helper threads back to SCHED_OTHER). With the permission and still "
           "EPERM, the cgroup allows no real-time runtime (cgroup v1 cpu.rt_runtime_us)";
  else
    why += "check priority (1-99)";
  refuse(std::move(why));
}

// Threads that exist now (blocking pool, log thread, stall monitor): to
// the helper CPUs, SCHED_OTHER. Later ones call enter_helper_thread().
void RealtimeProfile::move_helpers() {
  if (!g_placement.pin && !g_placement.demote) return;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) {
    refuse("[realtime] cannot list weftd's threads in /proc/self/task: " + errno_text(errno) +
           "; is /proc mounted?");
    return;
  }
  std::string failed;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || tid == loop_tid_) continue;
    bool ok = true;
    if (g_placement.demote) {
      sched_param param{};
      ok = ::sched_setscheduler(static_cast<pid_t>(tid), SCHED_OTHER, &param) == 0 && ok;
    }
    if (g_placement.pin)
      ok = ::sched_setaffinity(static_cast<pid_t>(tid), sizeof g_placement.cpus, &g_placement.cpus) == 0 && ok;
    if (ok) ++helpers_moved_;
    else failed += (failed.empty() ? "" : ", ") + std::to_string(tid) + " (" + errno_text(errno) + ")";
  }
  ::closedir(dir);
  if (!failed.empty())
    refuse("[realtime] helper_cpus = " + cpu_list(options_.helper_cpus) + ": could not move helper threads " +
           failed + "; weftd may run on CPUs " + allowed_cpus_text());
}

void RealtimeProfile::hold_dma_latency() {
  const int fd = ::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    refuse("[realtime] cpu_dma_latency: cannot open /dev/cpu_dma_latency: " + errno_text(err) +
           (err == EACCES ? "; it is root's (mode 0600): give weftd's group write access with a udev rule, and "
                            "DeviceAllow=/dev/cpu_dma_latency w in the unit, or set cpu_dma_latency = false"
                          : "; this kernel may have no PM QoS interface: set cpu_dma_latency = false"));
    return;
  }
  const std::int32_t zero = 0;
  if (::write(fd, &zero, sizeof zero) != static_cast<ssize_t>(sizeof zero)) {
    const int err = errno;
    ::close(fd);
    refuse("[realtime] cpu_dma_latency: writing 0 to /dev/cpu_dma_latency failed: " + errno_text(err));
    return;
  }
  dma_fd_ = fd;
}

}  // namespace weft

// The console's `rt` command: the real-time profile as configured and as the
// kernel reports it now (each thread's policy, priority and CPUs read back
// from /proc, on the blocking pool), locked memory (VmLck) and the loop
// thread's page faults per clock-check period, and each service's critical
// sections (critical_section.hpp), allocation sites described on the pool.
#include <dirent.h>
#include <pthread.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/asio/use_awaitable.hpp>

#include "runtime_core.hpp"
#include "weft/core/critical_section.hpp"
#include "weft/core/dump.hpp"

namespace weft::detail {
namespace {

struct ThreadView {
  long tid = 0;
  std::string name;
  std::string policy;
  int priority = 0;
  std::string cpus;
};

const char* policy_name(int p) {
  switch (p) {
    case SCHED_OTHER: return "SCHED_OTHER";
    case SCHED_FIFO: return "SCHED_FIFO";
    case SCHED_RR: return "SCHED_RR";
    case SCHED_BATCH: return "SCHED_BATCH";
    case SCHED_IDLE: return "SCHED_IDLE";
    default: return "?";
  }
}

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string status_field(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) {
      const auto value = line.find_first_not_of(" \t", key.size() + 1);
      return value == std::string::npos ? std::string() : line.substr(value);
    }
  return "?";
}

// Fields 40 (rt_priority) and 41 (policy) of /proc/.../stat, counted after
// the command name, which may itself hold spaces and parentheses.
void read_sched(const std::string& stat_line, ThreadView& t) {
  const auto close = stat_line.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat_line.substr(close + 2));
  std::string field;
  for (int n = 3; fields >> field; ++n) {
    if (n == 40) t.priority = std::atoi(field.c_str());
    if (n == 41) {
      t.policy = policy_name(std::atoi(field.c_str()));
      return;
    }
  }
}

// Blocking pool: /proc reads.
std::vector<ThreadView> read_threads() {
  std::vector<ThreadView> out;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    const std::string base = std::string("/proc/self/task/") + entry->d_name;
    ThreadView t;
    t.tid = tid;
    t.name = read_line(base + "/comm");
    read_sched(read_line(base + "/stat"), t);
    t.cpus = status_field(base + "/status", "Cpus_allowed_list");
    out.push_back(std::move(t));
  }
  ::closedir(dir);
  return out;
}

std::string cpus_text(const std::vector<int>& cpus) {
  if (cpus.empty()) return "as started";
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

struct CriticalView {
  std::string service;
  CriticalStats stats;
  std::string site;  // described on the pool
};

// Loop thread: a copy of each service's critical-section counts.
std::vector<CriticalView> collect_criticals(const RuntimeCore& core) {
  std::vector<CriticalView> out;
  for (const auto& r : core.records)
    if (r->critical) out.push_back({r->spec.name, *r->critical, {}});
  return out;
}

void format_criticals(std::ostringstream& out, const std::vector<CriticalView>& criticals) {
  out << "critical sections (service: runs, allocations, page faults, suspended, p99 / worst duration):\n";
  if (criticals.empty()) out << "  none has run\n";
  for (const CriticalView& c : criticals) {
    const CriticalStats& s = c.stats;
    out << "  " << c.service << ": " << s.runs << " runs, " << s.allocations << " allocations";
    if (s.allocations > 0) out << " (" << s.allocated_bytes << " bytes; the latest at " << c.site << ")";
    out << ", " << s.minor_faults << " minor + " << s.major_faults << " major faults, " << s.suspended
        << " suspended, p99 " << human_duration(s.durations.percentile(0.99)) << " / worst "
        << human_duration(s.durations.max()) << "\n";
  }
}

std::string format_rt(const RuntimeCore& core, const std::vector<ThreadView>& threads, const std::string& vm_lck,
                      const std::vector<CriticalView>& criticals) {
  std::ostringstream out;
  const RealtimeOptions& o = core.options.realtime;
  if (!core.realtime) {
    out << "real-time profile: off ([realtime] not configured)\n";
  } else {
    const RealtimeProfile& p = *core.realtime;
    out << "real-time profile: " << (p.warnings().empty() ? "applied" : "applied in part") << " (required = "
        << (o.required ? "true" : "false") << ")\n";
    out << "  loop thread: policy " << to_string(o.policy);
    if (o.policy != SchedPolicy::other) out << " priority " << o.priority << (p.policy_applied() ? "" : " (refused)");
    out << ", cpus " << cpus_text(o.cpus) << "\n";
    out << "  helper threads: SCHED_OTHER, cpus " << cpus_text(o.helper_cpus) << " (" << p.helpers_moved()
        << " moved at start, later ones place themselves)\n";
    out << "  lock_memory: " << (o.lock_memory ? (p.memory_locked() ? "locked" : "refused") : "off");
    if (p.memory_locked())
      out << " (mlockall current+future on fault, heap reserve " << o.heap_reserve / 1024 << " KiB, stack reserve "
          << o.stack_reserve / 1024 << " KiB)";
    out << "\n  cpu_dma_latency: "
        << (o.cpu_dma_latency ? (p.dma_latency_held() ? "held at 0 us" : "refused") : "off") << "\n";
    for (const std::string& w : p.warnings()) out << "  warning: " << w << "\n";
  }
  out << "locked memory (VmLck): " << vm_lck << "\n";
  const FaultCount total = core.loop_faults.since_start();
  out << "loop thread page faults since the loop started: " << total.minor << " minor, " << total.major
      << " major; per " << human_duration(core.options.clock_check_period) << ", newest first:";
  const std::size_t shown = std::min<std::uint64_t>(core.loop_faults.samples(), LoopFaults::kPeriods);
  for (std::size_t i = 0; i < shown; ++i) out << " " << core.loop_faults.recent(i);
  out << (shown == 0 ? " (no sample yet)\n" : "\n");
  format_criticals(out, criticals);
  out << "threads (tid name policy priority cpus):\n";
  for (const ThreadView& t : threads)
    out << "  " << t.tid << " " << t.name << (t.tid == core.loop_tid ? " (loop)" : "") << " " << t.policy << " "
        << t.priority << " " << t.cpus << "\n";
  return out.str();
}

}  // namespace

CommandRegistration register_realtime_command(RuntimeCore& core) {
  return core.commands.add({
      .name = "rt",
      .usage = "rt",
      .help = "real-time profile: each thread's policy, priority and CPUs, locked memory, loop page faults",
      .handler = [&core](const CommandArgs&) -> boost::asio::awaitable<CommandReply> {
        std::vector<ThreadView> threads;
        std::string vm_lck;
        std::vector<CriticalView> criticals = collect_criticals(core);
        std::function<void()> read = [&] {
          threads = read_threads();
          vm_lck = status_field("/proc/self/status", "VmLck");
          for (CriticalView& c : criticals)
            if (c.stats.last_allocation_site != nullptr) c.site = describe_code_address(c.stats.last_allocation_site);
        };
        co_await core.pool.async_run(std::move(read), core.ioc.get_executor(), boost::asio::use_awaitable);
        CommandReply reply;
        reply.text = format_rt(core, threads, vm_lck, criticals);
        co_return reply;
      }});
}

}  // namespace weft::detail

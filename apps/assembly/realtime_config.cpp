// [realtime] of the config file (realtime_config.hpp).
#include "weft/apps/assembly/realtime_config.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "weft/apps/assembly/config_size.hpp"

namespace weft::apps {
namespace {

constexpr int kMaxCpu = 1023;  // CPU_SETSIZE - 1

std::optional<int> parse_cpu(std::string_view text) {
  int value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > kMaxCpu) return std::nullopt;
  return value;
}

std::vector<int> read_cpus(const ConfigSection& s, std::string_view key) {
  if (!s.has(key)) return {};
  std::string text;
  try {
    text = s.string(key, "");
  } catch (const ConfigError&) {
    return {static_cast<int>(s.integer(key, 0, 0, kMaxCpu))};
  }
  auto cpus = parse_cpu_list(text);
  if (!cpus)
    s.fail(key, "'" + text + "' is not a CPU list; write CPU numbers and ranges as the kernel does: \"1\", \"0-1,3\"");
  return std::move(*cpus);
}

SchedPolicy read_policy(const ConfigSection& s) {
  const std::string text = s.string("policy", "other");
  if (text == "other") return SchedPolicy::other;
  if (text == "fifo") return SchedPolicy::fifo;
  if (text == "rr") return SchedPolicy::rr;
  s.fail("policy", "unknown policy '" + text + "'; use \"fifo\", \"rr\" or \"other\" (the default: no real-time policy)");
  return SchedPolicy::other;
}

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> cpus;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto dash = item.find('-');
    const auto first = parse_cpu(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : parse_cpu(item.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    for (int c = *first; c <= *last; ++c) {
      if (std::find(cpus.begin(), cpus.end(), c) != cpus.end()) return std::nullopt;
      cpus.push_back(c);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return std::nullopt;  // a trailing comma
  }
  if (cpus.empty()) return std::nullopt;
  return cpus;
}

RealtimeOptions read_realtime_config(const ConfigSection& root) {
  RealtimeOptions o;
  const auto table = root.table("realtime");
  if (!table) return o;
  const ConfigSection& s = *table;
  o.lock_memory = s.boolean("lock_memory", o.lock_memory);
  o.heap_reserve = static_cast<std::size_t>(read_size(s, "heap_reserve", o.heap_reserve));
  o.stack_reserve = static_cast<std::size_t>(read_size(s, "stack_reserve", o.stack_reserve));
  if (o.stack_reserve > (std::size_t{4} << 20))
    s.fail("stack_reserve", "is above 4MiB; the loop thread's stack is 8MiB at most by default: give 4MiB or less");
  o.policy = read_policy(s);
  o.priority = static_cast<int>(s.integer("priority", o.priority, 1, 99));
  if (s.has("priority") && o.policy == SchedPolicy::other)
    s.fail("priority", "is set but policy is \"other\", which has no priority; set policy = \"fifo\" or \"rr\"");
  o.cpus = read_cpus(s, "cpus");
  o.helper_cpus = read_cpus(s, "helper_cpus");
  o.cpu_dma_latency = s.boolean("cpu_dma_latency", o.cpu_dma_latency);
  o.required = s.boolean("required", o.required);
  if (s.has("critical_allocations")) {
    const std::string mode = s.string("critical_allocations", "count");
    if (mode == "count") o.critical_allocations = CriticalAllocation::count;
    else if (mode == "abort") o.critical_allocations = CriticalAllocation::abort;
    else
      s.fail("critical_allocations", "unknown mode '" + mode +
                                         "'; use \"count\" (count each with its call site) or \"abort\" (stack trace, "
                                         "then abort: for tests)");
  }
  s.reject_unknown_keys();
  return o;
}

}  // namespace weft::apps

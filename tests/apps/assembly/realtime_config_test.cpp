// [realtime] read into RealtimeOptions: CPU lists in the kernel's syntax,
// the policy and its priority, sizes; every bad value an error at its
// file:line naming the key and what to write. The defaults ask nothing of
// the kernel (any() is false).
#include "weft/apps/assembly/realtime_config.hpp"

#include <catch2/catch.hpp>

namespace weft::apps {
namespace {

RealtimeOptions rt_keys_read(const std::string& keys) {
  return read_realtime_config(Config::parse("[realtime]\n" + keys + "\n", "box.toml").root());
}

std::string rt_keys_error(const std::string& keys) {
  try {
    rt_keys_read(keys);
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for: " << keys);
  return {};
}

}  // namespace

TEST_CASE("realtime config: CPU lists in the kernel's syntax", "[realtime][config]") {
  CHECK(parse_cpu_list("1") == std::vector<int>{1});
  CHECK(parse_cpu_list("0-1,3") == std::vector<int>{0, 1, 3});
  CHECK(parse_cpu_list("1023") == std::vector<int>{1023});
  for (const char* bad : {"", "1-0", "1,", ",1", "a", "1024", "0,0", "0-2,1", "-1", "1 ", "0x1", "1-"}) {
    INFO(bad);
    CHECK_FALSE(parse_cpu_list(bad));
  }
}

TEST_CASE("realtime config: defaults are off and every key is read", "[realtime][config]") {
  const RealtimeOptions none = read_realtime_config(Config::parse("", "box.toml").root());
  CHECK_FALSE(none.any());
  CHECK(none.required);

  const RealtimeOptions o = rt_keys_read(
      "lock_memory = true\nheap_reserve = \"2MiB\"\nstack_reserve = \"64KiB\"\npolicy = \"rr\"\npriority = 70\n"
      "cpus = \"1\"\nhelper_cpus = 0\ncpu_dma_latency = true\nrequired = false");
  CHECK(o.any());
  CHECK(o.lock_memory);
  CHECK(o.heap_reserve == 2u << 20);
  CHECK(o.stack_reserve == 64u << 10);
  CHECK(o.policy == SchedPolicy::rr);
  CHECK(o.priority == 70);
  CHECK(o.cpus == std::vector<int>{1});
  CHECK(o.helper_cpus == std::vector<int>{0});  // an integer is one CPU
  CHECK(o.cpu_dma_latency);
  CHECK_FALSE(o.required);
}

TEST_CASE("realtime config: bad values name the key, the place and what to write", "[realtime][config]") {
  std::string e = rt_keys_error("policy = \"deadline\"");
  CHECK_THAT(e, Catch::Contains("box.toml:2") && Catch::Contains("unknown policy 'deadline'") &&
                    Catch::Contains("\"fifo\", \"rr\""));
  e = rt_keys_error("priority = 50");
  CHECK_THAT(e, Catch::Contains("priority") && Catch::Contains("policy is \"other\""));
  e = rt_keys_error("policy = \"fifo\"\npriority = 0");
  CHECK_THAT(e, Catch::Contains("box.toml:3") && Catch::Contains("priority"));
  e = rt_keys_error("cpus = \"0-\"");
  CHECK_THAT(e, Catch::Contains("cpus") && Catch::Contains("is not a CPU list") && Catch::Contains("\"0-1,3\""));
  e = rt_keys_error("helper_cpus = 4096");
  CHECK_THAT(e, Catch::Contains("helper_cpus"));
  e = rt_keys_error("stack_reserve = \"16MiB\"");
  CHECK_THAT(e, Catch::Contains("stack_reserve") && Catch::Contains("4MiB or less"));
  e = rt_keys_error("lock_memroy = true");
  CHECK_THAT(e, Catch::Contains("lock_memroy"));
}

}  // namespace weft::apps

// The real-time profile's thread placement (weft/core/realtime.hpp), in
// process: a thread started by the real-time loop thread inherits its
// SCHED_FIFO and its CPUs from the kernel (shown by a thread that does not
// call the hook), and enter_helper_thread() is what puts it back with the
// helpers; threads that existed when the profile was applied were moved.
// Needs SCHED_FIFO permission and 2 CPUs: else "SKIPPED: " (ctest skips).
// One test case per process (catch_discover_tests), so the placement the
// profile leaves behind touches no other test.
#include <pthread.h>
#include <sched.h>

#include <catch2/catch.hpp>

#include <thread>

#include "weft/core/realtime.hpp"

namespace weft {
namespace {

struct RtPlacement {
  int policy = -1;
  int first_cpu = -1;
  int cpu_count = 0;
};

RtPlacement rt_placement_now() {
  RtPlacement p;
  p.policy = ::sched_getscheduler(0);
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    p.cpu_count = CPU_COUNT(&set);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) {
        p.first_cpu = c;
        break;
      }
  }
  return p;
}

// Whether this process may use SCHED_FIFO at all (tried on a throwaway thread).
bool rt_fifo_allowed() {
  bool ok = false;
  std::thread([&] {
    sched_param param{};
    param.sched_priority = 1;
    ok = ::pthread_setschedparam(::pthread_self(), SCHED_FIFO, &param) == 0;
  }).join();
  return ok;
}

}  // namespace

TEST_CASE("realtime: threads started by the real-time loop place themselves with the helpers", "[realtime]") {
  if (!rt_fifo_allowed() || std::thread::hardware_concurrency() < 2) {
    WARN("SKIPPED: needs SCHED_FIFO permission (root or CAP_SYS_NICE) and 2 CPUs");
    return;
  }
  RtPlacement loop, hooked, unhooked, existing;
  std::string error;
  std::thread existing_thread;
  std::atomic<bool> release_existing{false};
  std::atomic<bool> existing_measured{false};
  // A thread that exists before the profile is applied, like the blocking pool's.
  existing_thread = std::thread([&] {
    while (!release_existing.load()) std::this_thread::yield();
    existing = rt_placement_now();
    existing_measured = true;
  });
  std::thread([&] {
    RealtimeOptions o;
    o.policy = SchedPolicy::fifo;
    o.priority = 10;
    o.cpus = {0};
    o.helper_cpus = {1};
    try {
      const RealtimeProfile profile(o);
      loop = rt_placement_now();
      std::thread([&] {
        enter_helper_thread("rt-hooked");
        hooked = rt_placement_now();
      }).join();
      std::thread([&] { unhooked = rt_placement_now(); }).join();
    } catch (const RealtimeError& e) {
      error = e.what();
    }
  }).join();
  release_existing = true;
  existing_thread.join();
  REQUIRE(error.empty());
  REQUIRE(existing_measured);

  CHECK(loop.policy == SCHED_FIFO);
  CHECK((loop.cpu_count == 1 && loop.first_cpu == 0));
  // What the kernel does without the hook: the loop's policy and CPUs.
  CHECK(unhooked.policy == SCHED_FIFO);
  CHECK(unhooked.first_cpu == 0);
  // The hook undoes it.
  CHECK(hooked.policy == SCHED_OTHER);
  CHECK((hooked.cpu_count == 1 && hooked.first_cpu == 1));
  // The sweep at apply moved the thread that already existed.
  CHECK(existing.policy == SCHED_OTHER);
  CHECK((existing.cpu_count == 1 && existing.first_cpu == 1));
}

TEST_CASE("realtime: a refused profile with required = false is a warning per refusal", "[realtime]") {
  RealtimeOptions o;
  o.cpus = {1023};  // no such CPU here: sched_setaffinity refuses
  o.required = false;
  std::vector<std::string> warnings;
  std::thread([&] { warnings = RealtimeProfile(o).warnings(); }).join();
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("[realtime] cpus = [1023]") && Catch::Contains("sched_setaffinity failed") &&
                              Catch::Contains("weftd may run on CPUs [") && Catch::Contains("required = false"));
  o.required = true;
  std::string error;
  std::thread([&] {
    try {
      const RealtimeProfile profile(o);
    } catch (const RealtimeError& e) {
      error = e.what();
    }
  }).join();
  CHECK_THAT(error, Catch::Contains("[realtime] cpus = [1023]") && !Catch::Contains("required = false"));
}

}  // namespace weft

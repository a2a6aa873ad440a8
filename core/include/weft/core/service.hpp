// What a service is to the runtime: a name, the names it needs, a restart
// policy and a way to launch it (a C++20 coroutine, or a stackful coroutine
// from weft/core/stackful.hpp). The runtime decides when it runs.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include "weft/core/clock.hpp"

namespace weft {

class Context;
class ConfigSection;

struct RestartPolicy {
  Duration min_backoff = std::chrono::milliseconds(100);
  Duration max_backoff = std::chrono::seconds(30);
  int intensity = 5;                                  // restarts allowed within...
  Duration intensity_period = std::chrono::seconds(60);  // ...this window; one more exits the process
  Duration start_timeout = std::chrono::seconds(10);  // from launch to ctx.ready()
};

// What the runtime hands a launcher for one run of a service.
struct Launch {
  Context& ctx;
  boost::asio::any_io_executor executor;  // the service executor (accounting)
  boost::asio::cancellation_slot cancel;  // emitted to stop this run
  std::function<void(std::exception_ptr)> on_exit;  // exactly once, on the loop thread
};

using Launcher = std::function<void(Launch)>;

struct ServiceSpec {
  std::string name;
  std::vector<std::string> needs;
  RestartPolicy policy;
  Launcher launch;
  // [service.NAME] slice_budget: a slice (one uninterrupted run of the
  // service's handlers on the loop) longer than this is counted and its
  // episode logged once (ServiceStats, runtime.cpp). Zero: no budget.
  Duration slice_budget{};
  // [service.NAME] memory_limit: the most heap it may hold (bytes it
  // allocated and nobody freed yet, memory_account.hpp); an allocation
  // past it throws std::bad_alloc in the service. Zero: no limit (its held
  // bytes are still tracked).
  std::uint64_t memory_limit = 0;
  // Settings it takes while it runs (a live reload, apps/reload): called on
  // the loop with the new config's [service.NAME] table and root, validated
  // already, when a reload changed only keys the service declared live
  // (ServiceFactory::live_keys). It hands them to its current run, if any,
  // and to every later run of this spec (a restart by supervision keeps
  // them); no await, so it is all done when it returns. Throws what it
  // cannot take (the reload then rolls back). Null: none; every change
  // restarts the service.
  std::function<void(const ConfigSection& section, const ConfigSection& root)> take_live{};
};

using CoroutineMain = std::function<boost::asio::awaitable<void>(Context&)>;

// A service written as a C++20 coroutine: `main` is called once per run and
// must stay valid (it is kept in the spec), so lambda captures are safe.
ServiceSpec coroutine_service(std::string name, std::vector<std::string> needs, RestartPolicy policy,
                              CoroutineMain main);

}  // namespace weft

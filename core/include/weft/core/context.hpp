// Context: everything a service may touch — its name, logger, clock,
// timers, the point bus, blocking work, its config section, its stats.
// A service reaches nothing else. The runtime's waits here record their
// std::source_location as the service's await site, so a dump can say
// where each service is suspended and since when.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <source_location>
#include <string>
#include <type_traits>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "weft/core/bus.hpp"
#include "weft/core/clock.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/config.hpp"
#include "weft/core/service_stats.hpp"
#include "weft/core/critical_section.hpp"
#include "weft/core/ticker.hpp"

namespace spdlog {
class logger;
}

namespace weft {

class RuntimeControl;
class DumpSectionHandle;

namespace detail {
struct RuntimeCore;
struct ServiceRecord;
}  // namespace detail

class Context {
public:
  // One Context per run of a service (`run` is its generation).
  Context(detail::RuntimeCore& core, detail::ServiceRecord& record, std::uint64_t run = 0) noexcept
      : core_(core), record_(record), run_(run) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const std::string& name() const noexcept;
  spdlog::logger& log() const noexcept;
  const Clock& clock() const noexcept;
  boost::asio::any_io_executor executor() const;

  // "I am functional": services that need this one may start. Once per run.
  void ready();
  // A short note on this service's state for the systemd status line
  // (STATUS=..., "; NAME: NOTE"), kept across runs until replaced; empty
  // clears it. For conditions an operator must see without a console (a
  // database moved aside, a store that cannot be written).
  void set_status_note(std::string note);

  // Cancel-safe. Slack: default_slack(d) (1 %, at most 5 ms).
  boost::asio::awaitable<void> sleep(Duration d, std::source_location loc = std::source_location::current());
  // Cancel-safe. Zero slack: woken as soon as the kernel allows after `t`.
  boost::asio::awaitable<void> sleep_until(MonoTime t, Duration slack = Duration::zero(),
                                           std::source_location loc = std::source_location::current());
  Ticker ticker(Duration period, TickerOptions options = {});
  TimerQueue& timers() noexcept;  // for waits built outside Context (stackful.hpp)

  // Opens a critical section charged to this service (critical_section.hpp):
  //   { const CriticalSection cs = ctx.critical(); ...no new, no fault, no co_await... }
  CriticalSection critical();

  // Stamps mono/wall time and boot id, then publishes.
  void publish(std::string point, Value value, Quality quality = Quality::good);
  Subscription subscribe(std::string pattern, std::size_t capacity = 1024);
  Bus& bus() noexcept;

  // Runs `work` on the blocking pool and resumes on this service's executor.
  // Not cancellable: the wait lasts until the work has finished (it may
  // touch state the caller owns). Exceptions from `work` are rethrown here.
  boost::asio::awaitable<void> blocking(std::function<void()> work,
                                        std::source_location loc = std::source_location::current());
  template <typename F>
    requires(!std::is_void_v<std::invoke_result_t<F&>>)
  boost::asio::awaitable<std::invoke_result_t<F&>> blocking_result(
      F work, std::source_location loc = std::source_location::current()) {
    std::optional<std::invoke_result_t<F&>> result;
    co_await blocking([&] { result.emplace(work()); }, loc);
    co_return std::move(*result);
  }

  // This service's [service.NAME] table, if the config has one.
  const std::optional<ConfigSection>& config() const noexcept;
  ServiceStats& stats() noexcept;

  // A console command owned by this run: keep the registration in run()'s
  // frame; the command goes when it is destroyed (see commands.hpp).
  CommandRegistration add_command(Command command);
  // The runtime as the console sees it (runtime_control.hpp). For the
  // console and diagnostic services; an ordinary service needs none of it.
  RuntimeControl& runtime_control() noexcept;
  // A section every dump (SIGUSR1, console `dump`, hang) includes while the handle lives: keep it in run()'s
  // frame. Include weft/core/dump.hpp. It runs on the loop, also each second (the hang snapshot): keep it cheap.
  DumpSectionHandle add_dump_section(std::string title, std::function<std::string()> producer);

private:
  detail::RuntimeCore& core_;
  detail::ServiceRecord& record_;
  std::uint64_t run_;  // ready() from an abandoned run must not mark a newer one ready
};

}  // namespace weft

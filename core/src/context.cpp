// Context: a service's narrow window onto the runtime.
#include "weft/core/context.hpp"

#include <boost/asio/use_awaitable.hpp>

#include "runtime_core.hpp"
#include "timer_wait.hpp"
#include "weft/core/service_executor.hpp"

namespace weft {

const std::string& Context::name() const noexcept { return record_.spec.name; }
spdlog::logger& Context::log() const noexcept { return *record_.logger; }
const Clock& Context::clock() const noexcept { return *core_.clock; }

boost::asio::any_io_executor Context::executor() const {
  return ServiceExecutor(core_.ioc.get_executor(), &record_.stats);
}

CriticalSection Context::critical() {
  if (!record_.critical) record_.critical = std::make_unique<CriticalStats>();
  return CriticalSection(*record_.critical);
}

void Context::ready() { core_.supervisor.on_ready(record_, run_); }
void Context::set_status_note(std::string note) { record_.status_note = std::move(note); }

boost::asio::awaitable<void> Context::sleep(Duration d, std::source_location loc) {
  const MonoTime now = core_.clock->now();
  AwaitSiteScope site(record_.stats, "sleep", loc, now);
  co_await detail::async_wait_until(core_.timers, now + d, default_slack(d), now, boost::asio::use_awaitable);
}

boost::asio::awaitable<void> Context::sleep_until(MonoTime t, Duration slack, std::source_location loc) {
  const MonoTime now = core_.clock->now();
  AwaitSiteScope site(record_.stats, "sleep", loc, now);
  co_await detail::async_wait_until(core_.timers, t, slack, now, boost::asio::use_awaitable);
}

Ticker Context::ticker(Duration period, TickerOptions options) {
  return Ticker(core_.timers, &record_.stats, period, options);
}

void Context::publish(std::string point, Value value, Quality quality) {
  core_.bus.publish(Reading{std::move(point), std::move(value), quality, to_ns(core_.clock->now()),
                            BootId::current(), core_.clock->wall_ns()});
}

Subscription Context::subscribe(std::string pattern, std::size_t capacity) {
  return core_.bus.subscribe(std::move(pattern), capacity, &record_.stats);
}

TimerQueue& Context::timers() noexcept { return core_.timers; }

Bus& Context::bus() noexcept { return core_.bus; }

boost::asio::awaitable<void> Context::blocking(std::function<void()> work, std::source_location loc) {
  AwaitSiteScope site(record_.stats, "blocking work", loc, core_.clock->now());
  // use_awaitable rethrows the exception_ptr the pool completes with.
  co_await core_.pool.async_run(std::move(work), executor(), boost::asio::use_awaitable);
}

const std::optional<ConfigSection>& Context::config() const noexcept { return record_.config; }
ServiceStats& Context::stats() noexcept { return record_.stats; }

CommandRegistration Context::add_command(Command command) {
  return core_.commands.add(std::move(command), record_.spec.name);
}
RuntimeControl& Context::runtime_control() noexcept { return core_.control; }

DumpSectionHandle Context::add_dump_section(std::string title, std::function<std::string()> producer) {
  return core_.health.sections().add(record_.spec.name + ": " + title, std::move(producer));
}

}  // namespace weft

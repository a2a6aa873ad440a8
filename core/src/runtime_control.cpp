// RuntimeControl: the console's and the reload coordinator's window onto
// the runtime (runtime_control.hpp). Every function is a thin read, a
// supervisor call or a wait; nothing here blocks. wait_change parks on the
// supervisor's ChangeWaiters (ParkedOp, posted completions) raced against
// a timer on the runtime's TimerQueue, so it works on the virtual clock.
#include "weft/core/runtime_control.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "parked_op.hpp"
#include "runtime_core.hpp"
#include "timer_wait.hpp"

namespace weft {
namespace {

template <typename Token>
auto async_wait_changed(detail::ChangeWaiters& waiters, boost::asio::any_io_executor ex, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&waiters](auto handler, boost::asio::any_io_executor fallback) {
        using Op = detail::ParkedOp<detail::ChangeWaiter, detail::ChangeWaiters, decltype(handler),
                                    boost::asio::any_io_executor>;
        waiters.add(Op::park(waiters, std::move(handler), std::move(fallback)));
      },
      token, std::move(ex));
}

ServiceInfo info_of(const detail::ServiceRecord& r) {
  return ServiceInfo{ServiceSnapshot{r.spec.name, detail::to_string(r.state), r.ready, r.restarts, r.last_error,
                                     r.state_since, r.stats},
                     r.spec.needs, r.spec.policy, r.generation, r.abandoned_runs.size()};
}

}  // namespace

std::vector<ServiceSnapshot> RuntimeControl::snapshot() const {
  std::vector<ServiceSnapshot> out;
  out.reserve(core_.records.size());
  for (const auto& r : core_.records)
    out.push_back(ServiceSnapshot{r->spec.name, detail::to_string(r->state), r->ready, r->restarts, r->last_error,
                                  r->state_since, r->stats});
  return out;
}

std::optional<ServiceInfo> RuntimeControl::service(std::string_view name) const {
  const detail::ServiceRecord* r = core_.find(name);
  if (r == nullptr) return std::nullopt;
  return info_of(*r);
}

std::vector<std::string> RuntimeControl::service_names() const {
  std::vector<std::string> out;
  for (const auto& r : core_.records) out.push_back(r->spec.name);
  return out;
}

bool RuntimeControl::stop_service(std::string_view name) {
  auto* r = core_.find(name);
  return r != nullptr && core_.supervisor.stop_service(*r);
}

bool RuntimeControl::start_service(std::string_view name) {
  auto* r = core_.find(name);
  return r != nullptr && core_.supervisor.start_service(*r);
}

bool RuntimeControl::stopping() const noexcept { return core_.stop_requested; }
Duration RuntimeControl::stop_grace() const noexcept { return core_.options.stop_grace; }
Commands& RuntimeControl::commands() noexcept { return core_.commands; }
Bus& RuntimeControl::bus() noexcept { return core_.bus; }
const Clock& RuntimeControl::clock() const noexcept { return *core_.clock; }
bool RuntimeControl::virtual_time() const noexcept { return core_.vclock != nullptr; }
const ClockWatch& RuntimeControl::clock_watch() const noexcept { return core_.clock_watch; }

spdlog::logger* RuntimeControl::logger(std::string_view name) noexcept {
  if (name == "weft") return core_.log.get();
  auto* r = core_.find(name);
  return r != nullptr ? r->logger.get() : nullptr;
}

}  // namespace weft

namespace weft {

std::optional<ServiceDefinition> RuntimeControl::definition(std::string_view name) const {
  const detail::ServiceRecord* r = core_.find(name);
  if (r == nullptr) return std::nullopt;
  return ServiceDefinition{r->spec, r->config};
}

void RuntimeControl::check_change(const ServiceTableChange& change) const { core_.supervisor.check_change(change, false); }
void RuntimeControl::change_services(ServiceTableChange change) { core_.supervisor.change_table(std::move(change)); }

boost::asio::awaitable<bool> RuntimeControl::wait_change(MonoTime deadline) {
  using namespace boost::asio::experimental::awaitable_operators;
  if (deadline <= core_.clock->now()) co_return false;
  auto changed = async_wait_changed(core_.supervisor.change_waiters(), core_.ioc.get_executor(), boost::asio::use_awaitable);
  auto timeout = detail::async_wait_until(core_.timers, deadline, Duration::zero(), boost::asio::use_awaitable);
  const auto which = co_await (std::move(changed) || std::move(timeout));
  co_return which.index() == 0;
}

void RuntimeControl::notify_change() { core_.supervisor.change_waiters().wake_all(); }

boost::asio::awaitable<ServiceWaitResult> RuntimeControl::wait_service(std::string name, MonoTime deadline) {
  std::optional<std::uint64_t> restarts;
  for (;;) {
    const detail::ServiceRecord* r = core_.find(name);
    if (r == nullptr) co_return ServiceWaitResult{ServiceEvent::unknown, "no service named '" + name + "'"};
    if (!restarts) restarts = r->restarts;
    using S = detail::ServiceState;
    if (r->state == S::running && r->ready) co_return ServiceWaitResult{ServiceEvent::ready, {}};
    // A failure, even one the supervisor has already retried since.
    if (r->state == S::backoff || r->state == S::failed || r->restarts != *restarts)
      co_return ServiceWaitResult{ServiceEvent::failed, r->last_error};
    if (r->state == S::stopping || r->state == S::stopped) co_return ServiceWaitResult{ServiceEvent::stopped, {}};
    if (!co_await wait_change(deadline)) co_return ServiceWaitResult{ServiceEvent::timeout, {}};
  }
}

boost::asio::awaitable<void> RuntimeControl::blocking(std::function<void()> work) {
  co_await core_.pool.async_run(std::move(work), core_.ioc.get_executor(), boost::asio::use_awaitable);
}

boost::asio::any_io_executor RuntimeControl::executor() const { return core_.ioc.get_executor(); }

void RuntimeControl::notify_reloading() { core_.health.on_reloading(); }
void RuntimeControl::notify_reloaded() { core_.health.on_reloaded(); }

void RuntimeControl::set_reload_note(std::string note) {
  core_.reload_note = std::move(note);
  core_.health.refresh_status();
}
const std::string& RuntimeControl::reload_note() const noexcept { return core_.reload_note; }

void RuntimeControl::set_update_note(std::string note) {
  if (note == core_.update_note) return;
  core_.update_note = std::move(note);
  core_.health.refresh_status();
}

const std::string& RuntimeControl::update_note() const noexcept { return core_.update_note; }

}  // namespace weft

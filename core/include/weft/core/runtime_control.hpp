// RuntimeControl: the narrow window onto the whole runtime that the console
// and the reload coordinator need (Context::runtime_control(),
// Runtime::control()), instead of handing out the Runtime: service
// snapshots, stop/start of one service, the command registry, the bus's
// latest values, the clock and its warp events, service loggers; and for
// a live reload: a stopped service's definition replaced, services added
// and removed (change_services: the graph checks run on the changed table
// before anything changes), waits for a service's state (no polling: the
// supervisor wakes waiters on every state change), blocking work, the
// systemd reload notifications and the reload note on STATUS=.
// Loop thread only. Stopping one service never stops another; changing the
// table never touches a service it does not name.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace spdlog {
class logger;
}

namespace weft {

class Bus;
class ClockWatch;
class Commands;
namespace detail {
struct RuntimeCore;
}

// What the runtime knows of a service beyond its snapshot.
struct ServiceInfo {
  ServiceSnapshot snapshot;
  std::vector<std::string> needs;
  RestartPolicy policy;
  std::uint64_t generation = 0;  // runs launched
  std::size_t abandoned_runs = 0;  // runs left running past their stop grace (they may still use the spec)
};

// What a service is: its spec and its [service.NAME] table (a copy: the
// runtime's own stays untouched).
struct ServiceDefinition {
  ServiceSpec spec;
  std::optional<ConfigSection> config;
};

// One change of the service table (RuntimeControl::change_services).
struct ServiceTableChange {
  std::vector<ServiceDefinition> add;      // new names; they start stopped (start_service launches them)
  std::vector<ServiceDefinition> replace;  // existing, stopped (or failed): a new spec and table, same record
  std::vector<std::string> remove;         // existing, stopped (or failed)
};

// How a wait for one service ended (RuntimeControl::wait_service).
enum class ServiceEvent {
  ready,    // running and ready
  failed,   // its run failed (backoff, failed): ServiceWaitResult::error says why
  stopped,  // stopping or stopped (by a stop, or the runtime's shutdown)
  timeout,  // the deadline passed first
  unknown,  // no such service
};
struct ServiceWaitResult {
  ServiceEvent event = ServiceEvent::timeout;
  std::string error;  // failed: the service's last error
};

class RuntimeControl {
public:
  explicit RuntimeControl(detail::RuntimeCore& core) noexcept : core_(core) {}
  RuntimeControl(const RuntimeControl&) = delete;
  RuntimeControl& operator=(const RuntimeControl&) = delete;

  std::vector<ServiceSnapshot> snapshot() const;  // in start order
  std::optional<ServiceInfo> service(std::string_view name) const;
  std::vector<std::string> service_names() const;
  // As Runtime::stop_service / start_service: false if unknown or not in a
  // state that allows it (see the supervisor's state diagram).
  bool stop_service(std::string_view name);
  bool start_service(std::string_view name);
  bool stopping() const noexcept;  // the whole runtime is shutting down
  Duration stop_grace() const noexcept;

  // ---- live reload --------------------------------------------------------
  // A copy of a service's spec and table (nullopt: unknown).
  std::optional<ServiceDefinition> definition(std::string_view name) const;
  // Throws ServiceGraphError naming what is wrong, and changes nothing, if
  // the change cannot apply: an added name that exists, a replaced or
  // removed one that does not or is not stopped/failed, a name twice, an
  // unknown need or a cycle in the table as it would be, a runtime
  // shutting down. check_change only checks, and does not require the
  // services it names to be stopped yet (a reload checks before it stops).
  void check_change(const ServiceTableChange& change) const;
  // Applies it: replaced services keep their record (restart counter,
  // generation, stats; their failures are cleared), added ones are
  // stopped until start_service, removed ones leave the table (their
  // record is kept, unlisted, while the runtime lives: an abandoned run
  // may still use it). Needs, dependents and the launch order are
  // recomputed; the hang and crash name tables follow. Other services are
  // not touched.
  void change_services(ServiceTableChange change);
  // Completes at the next state change of any service (or notify_change()):
  // true; at `deadline`: false. Cancel-safe (operation_aborted).
  boost::asio::awaitable<bool> wait_change(MonoTime deadline);
  void notify_change();  // wakes every wait_change
  // Waits until `name` is ready, has failed, or is stopping/stopped, or
  // until `deadline`. Returns at once if it already is. Cancel-safe.
  boost::asio::awaitable<ServiceWaitResult> wait_service(std::string name, MonoTime deadline);
  // Runs `work` on the blocking pool; resumes on the loop. Exceptions are rethrown.
  boost::asio::awaitable<void> blocking(std::function<void()> work);
  boost::asio::any_io_executor executor() const;  // the loop's
  // systemd (252): RELOADING=1 with MONOTONIC_USEC= now, then READY=1 when
  // the reload is over (sent from the monitor thread, in that order).
  void notify_reloading();
  void notify_reloaded();
  // A note on the last reload for STATUS= ("; reload: NOTE") and `services`;
  // empty clears it.
  void set_reload_note(std::string note);
  const std::string& reload_note() const noexcept;
  // A note on the last package update (weftctl update) for STATUS=
  // ("; update: NOTE") and `services`; empty clears it.
  void set_update_note(std::string note);
  const std::string& update_note() const noexcept;

  Commands& commands() noexcept;
  Bus& bus() noexcept;
  const Clock& clock() const noexcept;
  bool virtual_time() const noexcept;
  const ClockWatch& clock_watch() const noexcept;
  // The logger of a service, or "weft" for the runtime's own; null if unknown.
  spdlog::logger* logger(std::string_view name) noexcept;

private:
  detail::RuntimeCore& core_;
};

}  // namespace weft

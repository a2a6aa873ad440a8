// The runtime: one io_context (concurrency hint 1) run on the calling
// thread, the service table, the supervisor, the clock (real or virtual),
// the timer queue, the point bus and the blocking pool. run() starts
// services in dependency order, supervises them and returns the process
// exit status. Clean shutdown is bounded; nothing relies on it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/config.hpp"
#include "weft/core/realtime.hpp"
#include "weft/core/service.hpp"
#include "weft/core/service_stats.hpp"

namespace boost::asio {
class io_context;
}

namespace weft {

class Bus;
class TimerQueue;
class ClockWatch;
class DumpSectionHandle;
struct LoopLagSnapshot;
struct StallCounters;
class Commands;
class RuntimeControl;
namespace detail {
struct RuntimeCore;
}

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;      // bad command line or config
inline constexpr int kExitEscalated = 3;  // a service exceeded its restart intensity
inline constexpr int kExitHung = 4;       // the loop hung past hang_threshold (default hang_exit_code)
inline constexpr int kExitDataDirBusy = 5;  // another weftd holds the data dir (weftd's exit status)
inline constexpr int kExitRealtime = 6;     // the kernel refused the required [realtime] profile (weftd's exit status)

// Rejected service table: unknown needs, cycles, duplicate names.
class ServiceGraphError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RuntimeOptions {
  bool virtual_time = false;
  bool handle_signals = true;  // SIGINT/SIGTERM request a clean stop; SIGHUP runs the reload hook (or is logged)
  Duration stop_grace = std::chrono::seconds(5);
  std::size_t blocking_threads = 2;
  std::uint64_t seed = 0;  // backoff jitter; 0: from the clock
  Duration clock_check_period = std::chrono::seconds(1);
  Duration clock_warp_threshold = std::chrono::seconds(1);
  // Health (core/src/health.hpp). data_dir: the lock, dumps/ and crash/;
  // empty: no lock, no dump files, no crash handlers.
  std::string data_dir{};
  Duration stall_threshold = std::chrono::milliseconds(100);  // a stall is logged, culprit named
  Duration hang_threshold = std::chrono::seconds(5);          // a hang: dump, then exit hang_exit_code
  int hang_exit_code = kExitHung;
  // [realtime] (realtime.hpp): applied by run() on the loop thread before
  // any service starts; a required part the kernel refuses makes run()
  // throw RealtimeError.
  RealtimeOptions realtime{};
};

struct ServiceSnapshot {
  std::string name;
  std::string state;  // waiting, starting, running, backoff, stopping, stopped, failed
  bool ready = false;
  std::uint64_t restarts = 0;
  std::string last_error;
  MonoTime state_since{};
  ServiceStats stats;
};

class Runtime {
public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Before run(). `config` is the service's [service.NAME] table, if any.
  void add(ServiceSpec spec, std::optional<ConfigSection> config = std::nullopt);

  // Checks the service table (throws ServiceGraphError naming the services),
  // takes the data-dir lock (throws DataDirBusyError, data_dir_lock.hpp),
  // reports crashes of the previous run, starts services as their needs
  // become ready, and runs the loop until a stop. Returns kExitOk after a
  // requested stop, kExitEscalated when a service exceeded its restart
  // intensity. A hung loop exits the process with hang_exit_code.
  int run();

  // Loop thread (or before run()): stop every service in reverse start
  // order, bounded by stop_grace, then return `exit_code` from run().
  void request_stop(int exit_code = kExitOk);
  // Requests a stop once `d` has passed on the runtime's clock.
  void stop_after(Duration d);
  // Called on the loop thread at each SIGHUP (with handle_signals), unless
  // the runtime is stopping; it must not block (weftd's reload coordinator
  // queues a transaction). Without a hook SIGHUP is logged and changes nothing.
  void set_reload_hook(std::function<void()> hook);

  // Loop thread only. Stopping one service never stops another.
  bool stop_service(std::string_view name);
  bool start_service(std::string_view name);
  std::vector<ServiceSnapshot> snapshot() const;

  // Health (loop thread). Include weft/core/dump.hpp, loop_lag.hpp and
  // stall_monitor.hpp to call these.
  LoopLagSnapshot loop_lag() const;
  StallCounters stall_counters() const;
  std::string dump_text(const std::string& reason = "request") const;
  // A section every dump includes (e.g. a serial bus's flight recorder), until the handle is destroyed.
  // The producer runs on the loop, also each second (the hang snapshot): keep it cheap.
  DumpSectionHandle add_dump_section(std::string title, std::function<std::string()> producer);

  const Clock& clock() const noexcept;
  VirtualClock* virtual_clock() noexcept;  // null on the real clock
  Bus& bus() noexcept;
  TimerQueue& timers() noexcept;
  const ClockWatch& clock_watch() const noexcept;
  boost::asio::io_context& io_context() noexcept;
  Commands& commands() noexcept;  // the console's command registry (commands.hpp)
  RuntimeControl& control() noexcept;

private:
  std::unique_ptr<detail::RuntimeCore> core_;
};

}  // namespace weft

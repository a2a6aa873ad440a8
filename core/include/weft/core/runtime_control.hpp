// RuntimeControl: the narrow window onto the whole runtime that the console
// needs (Context::runtime_control()), instead of handing out the Runtime:
// service snapshots, stop/start of one service, the command registry, the
// bus's latest values, the clock and its warp events, service loggers.
// Loop thread only. Stopping one service never stops another.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/runtime.hpp"
#include "weft/core/service.hpp"

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

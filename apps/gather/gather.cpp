// gather: polls the instruments on the serial buses and publishes their
// readings. One owner per [[serial]] port that has instruments — a
// BusPoller for Modbus RTU, an AsciiReader for a line instrument — all
// owned by one TaskGroup; a dead instrument delays nothing but its own bus.
// Ready once every port opened or was found absent (absent is a state,
// not a crash). Under --simulate every port is bound to simulated devices.
// While it runs, the console's `frames [PORT] [N]` and one dump section
// per port show each port's flight recorder (frames_command.hpp); a crash
// report carries its last frames too (PortOwner registers it).
//
// [service.gather]
//   lock_dir = "/run/lock"   # UUCP lock files (default: the system's)
// plus the top-level [[serial]] and [[instrument]] arrays (gather_config.hpp).
//
// Console: `frames [PORT] [N]`. Files in apps/gather/ (public headers in
// apps/include/weft/apps/gather/):
//   gather.cpp          this service: one owner per port, readiness
//   gather_config.cpp   [[serial]], [[instrument]], [[instrument.point]]: every key
//   port_binding.cpp    a port's bytes: the real tty, or simulated devices
//   port_owner.cpp      open, reopen with backoff, the flight recorder
//   bus_poller.cpp      Modbus RTU: earliest-deadline polling, quarantine
//   ascii_reader.cpp    ASCII line instruments: framing, stale, polled requests
//   frames_command.cpp  `frames` and the per-port dump sections (private header beside it)
#include <memory>

#include <spdlog/spdlog.h>

#include "weft/apps/gather/ascii_reader.hpp"
#include "weft/apps/gather/bus_poller.hpp"
#include "weft/apps/assembly/catalog.hpp"
#include "frames_command.hpp"
#include "weft/core/task_group.hpp"

namespace weft::apps {
namespace {

boost::asio::awaitable<void> run(Context& ctx, const GatherConfig& config, const RunMode& mode) {
  // Owns the pollers and, when simulating, the simulated devices: one join
  // cancels and waits for all of them.
  TaskGroup tasks(ctx.executor());
  // What the config says about each point (unit, precision, limits, ...), before any is published.
  for (const auto& i : config.instruments)
    for (const auto& p : i.points) ctx.bus().describe(i.name + "." + p.name, p.info);
  PortOwners pollers;
  std::vector<std::string> idle_ports;  // configured, no instruments: not opened
  for (const PortConfig& port : config.ports) {
    std::vector<const InstrumentConfig*> on_port;
    for (const auto& i : config.instruments)
      if (i.port == port.name) on_port.push_back(&i);
    if (on_port.empty()) {
      ctx.log().warn("port {} has no instruments; not opening it", port.name);
      idle_ports.push_back(port.name);
      continue;
    }
    auto binding = mode.simulate ? simulated_port(port, config, tasks, mode.seed + pollers.size())
                                 : real_port(port, config.lock_dir);
    if (on_port.front()->protocol == Protocol::ascii)  // then it is the port's only instrument (gather_config)
      pollers.push_back(std::make_unique<AsciiReader>(ctx, port, *on_port.front(), std::move(binding)));
    else
      pollers.push_back(std::make_unique<BusPoller>(ctx, port, std::move(on_port), std::move(binding)));
  }

  // Declared after the pollers they read, so they go first.
  const CommandRegistration frames = add_frames_command(ctx, pollers, std::move(idle_ports));
  const std::vector<DumpSectionHandle> frame_sections = add_frames_dump_sections(ctx, pollers);

  std::size_t pending = pollers.size();
  auto one_port_tried = [&] {
    if (--pending == 0) ctx.ready();
  };
  for (auto& p : pollers) tasks.spawn(p->run(one_port_tried));
  std::exception_ptr stopped;  // pollers run until cancelled or failed
  try {
    co_await tasks.join();
  } catch (...) {
    stopped = std::current_exception();
  }
  if (mode.report != nullptr) mode.report->collect(pollers);
  std::rethrow_exception(stopped);
}

}  // namespace

void GatherReport::collect(const std::vector<std::unique_ptr<PortOwner>>& pollers) {
  instruments.clear();
  for (const auto& p : pollers)
    for (auto& [name, counters] : p->counters()) instruments.emplace_back(name, counters);
}

ServiceFactory gather_factory(const RunMode& mode) {
  return {"gather", "polls serial instruments (Modbus RTU, ASCII lines) and publishes their readings",
          [mode](const ConfigSection& section, const ConfigSection& root, RestartPolicy policy) {
            // Shared by every run of the service (restarts) and kept by the spec.
            auto config = std::make_shared<const GatherConfig>(read_gather_config(root, section));
            return coroutine_service("gather", {}, policy,
                                     [config, mode](Context& ctx) { return run(ctx, *config, mode); });
          },
          {"serial", "instrument"}};
}

}  // namespace weft::apps

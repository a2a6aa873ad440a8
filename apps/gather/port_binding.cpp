// Port bindings: see port_binding.hpp.
#include "weft/apps/gather/port_binding.hpp"

#include <spdlog/spdlog.h>

#include "weft/drivers/pipe_stream.hpp"
#include "weft/drivers/serial/open_port.hpp"
#include "weft/drivers/serial/serial_stream.hpp"
#include "weft/drivers/sim/ascii_device.hpp"
#include "weft/drivers/sim/modbus_device.hpp"

namespace weft::apps {
namespace {

class RealPort final : public PortBinding {
public:
  RealPort(const PortConfig& port, std::string lock_dir) : port_(port), lock_dir_(std::move(lock_dir)) {}

  boost::asio::awaitable<OpenedPort> open(Context& ctx) override {
    // Lock files, open(2) and termios are system calls: never on the loop.
    auto result = co_await ctx.blocking_result([&] {
      return lock_dir_.empty() ? serial::open_exclusive(port_.settings) : serial::open_exclusive(port_.settings, lock_dir_);
    });
    if (!result) co_return OpenedPort{nullptr, result.error()};
    if (const std::string& note = result.value().stale_lock_note(); !note.empty())
      ctx.log().warn("port {} ({}): {}", port_.name, port_.settings.path, note);
    co_return OpenedPort{std::make_unique<serial::SerialStream>(ctx.executor(), std::move(result).value()), std::nullopt};
  }

private:
  const PortConfig& port_;
  std::string lock_dir_;
};

// The device owns its end of the pipe: when it disconnects (a fault) or the
// master's end goes, closing it is what the other side sees.
class SimulatedPort final : public PortBinding {
public:
  SimulatedPort(const PortConfig& port, const GatherConfig& config, TaskGroup& devices, std::uint64_t seed)
      : devices_(devices) {
    if (const InstrumentConfig* ascii = ascii_instrument(config, port.name))
      line_device_ = std::make_unique<sim::AsciiDevice>(simulated_ascii_device(*ascii), seed);
    else
      bus_ = std::make_unique<sim::SimBus>(simulated_units(config, port.name), line_settings(port), seed);
  }

  boost::asio::awaitable<OpenedPort> open(Context& ctx) override {
    auto [master_end, device_end] = make_pipe(ctx.executor());
    if (line_device_) devices_.spawn(serve(*line_device_, std::move(device_end), ctx.timers()));
    else devices_.spawn(serve(*bus_, std::move(device_end), ctx.timers()));
    co_return OpenedPort{std::move(master_end), std::nullopt};
  }

private:
  template <typename Device>
  static boost::asio::awaitable<void> serve(Device& device, std::unique_ptr<PipeEnd> end, TimerQueue& timers) {
    co_await device.serve(*end, timers);
  }

  TaskGroup& devices_;
  std::unique_ptr<sim::SimBus> bus_;                // Modbus RTU units, or
  std::unique_ptr<sim::AsciiDevice> line_device_;   // the port's one ASCII instrument
};

}  // namespace

std::unique_ptr<PortBinding> real_port(const PortConfig& port, std::string lock_dir) {
  return std::make_unique<RealPort>(port, std::move(lock_dir));
}

std::unique_ptr<PortBinding> simulated_port(const PortConfig& port, const GatherConfig& config, TaskGroup& devices,
                                            std::uint64_t seed) {
  return std::make_unique<SimulatedPort>(port, config, devices, seed);
}

}  // namespace weft::apps

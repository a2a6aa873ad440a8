// How a configured serial port reaches its bytes: the real tty (lock, open,
// configure on the blocking pool) or, under --simulate, an in-memory pipe
// whose other end is served by simulated devices. The poller does not know
// which.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/gather/gather_config.hpp"
#include "weft/core/context.hpp"
#include "weft/core/task_group.hpp"
#include "weft/drivers/byte_stream.hpp"
#include "weft/drivers/serial/port_error.hpp"

namespace weft::apps {

struct OpenedPort {
  std::unique_ptr<ByteStream> stream;           // null on failure
  std::optional<serial::PortError> error;       // why not, for the reconnect policy and the log
};

class PortBinding {
public:
  virtual ~PortBinding() = default;
  virtual boost::asio::awaitable<OpenedPort> open(Context& ctx) = 0;
};

// The tty named in the config, exclusively (lock file, TIOCEXCL, flock).
std::unique_ptr<PortBinding> real_port(const PortConfig& port, std::string lock_dir);

// A pipe served by simulated devices for every instrument on this port (the
// Modbus units, or the port's ASCII instrument); the device coroutines are
// owned by `devices`.
std::unique_ptr<PortBinding> simulated_port(const PortConfig& port, const GatherConfig& config, TaskGroup& devices,
                                            std::uint64_t seed);

}  // namespace weft::apps

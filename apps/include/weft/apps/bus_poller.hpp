// BusPoller: the one coroutine that owns one serial bus. It opens the port
// (reopening with backoff when it vanishes, one log line per state change),
// then polls the bus's instruments strictly one transaction at a time,
// earliest deadline first, so instruments are fairly interleaved. Each
// instrument keeps a drift-free schedule (next = previous + period; missed
// periods are counted and skipped). A unit that fails `quarantine_after`
// polls in a row is polled at its probe period until it answers again, so
// one silent unit cannot eat the bus. Errors in one instrument never stop
// the others: they become comm-error readings and counters.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/gather_config.hpp"
#include "weft/apps/port_binding.hpp"
#include "weft/core/context.hpp"
#include "weft/drivers/flight_recorder.hpp"
#include "weft/drivers/modbus/coalesce.hpp"

namespace weft::apps {

struct InstrumentCounters {
  std::uint64_t polls = 0;
  std::uint64_t good_polls = 0;
  std::uint64_t readings = 0;      // published, any quality
  std::uint64_t timeouts = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t exceptions = 0;
  std::uint64_t other_errors = 0;
  std::uint64_t missed = 0;        // periods skipped because the bus was behind
  std::uint64_t quarantines = 0;
  std::optional<MonoTime> last_good;
  std::string last_error;
};

class BusPoller {
public:
  BusPoller(Context& ctx, const PortConfig& port, std::vector<const InstrumentConfig*> instruments,
            std::unique_ptr<PortBinding> binding);
  ~BusPoller();

  // Runs until cancelled. `on_first_attempt` is called once, after the first
  // open attempt (success or absent): gather is ready when every bus did.
  boost::asio::awaitable<void> run(std::function<void()> on_first_attempt);

  const std::string& port_name() const noexcept;
  std::vector<std::pair<std::string, InstrumentCounters>> counters() const;
  const FlightRecorder& recorder() const noexcept { return recorder_; }

private:
  struct Instrument;
  boost::asio::awaitable<std::unique_ptr<ByteStream>> open_port(std::function<void()>& on_first_attempt);
  boost::asio::awaitable<bool> poll_until_error(ByteStream& stream);
  boost::asio::awaitable<std::optional<boost::system::error_code>> poll(modbus::RtuMaster& master, Instrument& i);
  void publish_failure(Instrument& i, const std::string& reason,
                       const std::vector<std::optional<Value>>* fresh = nullptr);
  void schedule_next(Instrument& i, MonoTime now);

  Context& ctx_;
  const PortConfig& port_;
  std::unique_ptr<PortBinding> binding_;
  std::vector<std::unique_ptr<Instrument>> instruments_;
  FlightRecorder recorder_;
  serial::ReconnectPolicy reconnect_;
};

}  // namespace weft::apps

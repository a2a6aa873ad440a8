// BusPoller: the owner of one Modbus RTU bus (a PortOwner: it opens the
// port and reopens it with backoff when it vanishes). It polls the bus's
// instruments strictly one transaction at a time, earliest deadline
// first, so instruments are fairly interleaved. Each
// instrument keeps a drift-free schedule (next = previous + period; missed
// periods are counted and skipped). A unit that fails `quarantine_after`
// polls in a row is polled at its probe period until it answers again, so
// one silent unit cannot eat the bus. Errors in one instrument never stop
// the others: they become comm-error readings and counters.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "weft/apps/gather/gather_config.hpp"
#include "weft/apps/gather/port_binding.hpp"
#include "weft/apps/gather/port_owner.hpp"
#include "weft/core/context.hpp"
#include "weft/drivers/modbus/coalesce.hpp"

namespace weft::apps {

class BusPoller final : public PortOwner {
public:
  BusPoller(Context& ctx, const PortConfig& port, std::vector<const InstrumentConfig*> instruments,
            std::unique_ptr<PortBinding> binding);
  ~BusPoller() override;

  std::vector<std::pair<std::string, InstrumentCounters>> counters() const override;

private:
  struct Instrument;
  boost::asio::awaitable<void> serve(ByteStream& stream) override;
  void on_open_failed(const std::string& reason, bool state_changed) override;
  boost::asio::awaitable<std::optional<boost::system::error_code>> poll(modbus::RtuMaster& master, Instrument& i);
  void publish_failure(Instrument& i, const std::string& reason,
                       const std::vector<std::optional<Value>>* fresh = nullptr);
  void schedule_next(Instrument& i, MonoTime now);

  std::vector<std::unique_ptr<Instrument>> instruments_;
};

}  // namespace weft::apps

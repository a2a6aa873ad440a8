// BusPoller: the owner of one Modbus RTU bus (a PortOwner: it opens the
// port and reopens it with backoff when it vanishes). It polls the bus's
// instruments strictly one transaction at a time, earliest deadline
// first, so instruments are fairly interleaved. Each
// instrument keeps a drift-free schedule (next = previous + period; missed
// periods are counted and skipped). A unit that fails `quarantine_after`
// polls in a row is polled at its probe period until it answers again, so
// one silent unit cannot eat the bus. Errors in one instrument never stop
// the others: they become comm-error readings and counters.
//
// Writes: each point configured `writable = true` (holding registers,
// coils) has a writer on the bus's PointWrites (point_writes.hpp). A write
// request is planned at once (point_write.hpp: a value out of range is
// refused there), queued (at most kMaxQueuedWrites per bus) and sent
// between polls, before the next poll, one transaction at a time like
// everything on the bus. After the device acknowledged it, the
// instrument is polled at once (a read-back outside its schedule) and the
// request answered: the PV then shows what the device holds, never the
// value that was asked for. A request is answered with the Modbus error
// (exception, timeout) when the device refuses it; with the port's error
// when the port is not open or fails; "gather stopped" when the poller
// goes. A request its asker abandoned is not started.
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
#include "weft/core/point_writes.hpp"
#include "weft/drivers/modbus/coalesce.hpp"

namespace weft::apps {

class BusPoller final : public PortOwner {
public:
  BusPoller(Context& ctx, const PortConfig& port, std::vector<const InstrumentConfig*> instruments,
            std::unique_ptr<PortBinding> binding);
  ~BusPoller() override;

  std::vector<std::pair<std::string, InstrumentCounters>> counters() const override;

  static constexpr std::size_t kMaxQueuedWrites = 16;

private:
  struct Instrument;
  struct Writer;
  struct QueuedWrite;
  struct WriteQueue;
  boost::asio::awaitable<void> serve(ByteStream& stream) override;
  void on_open_failed(const std::string& reason, bool state_changed) override;
  // `scheduled`: false for a read-back after a write (the schedule is kept).
  boost::asio::awaitable<std::optional<boost::system::error_code>> poll(modbus::RtuMaster& master, Instrument& i,
                                                                        bool scheduled = true);
  void submit(Instrument& i, std::size_t point, std::shared_ptr<PendingWrite> request);
  boost::asio::awaitable<std::optional<boost::system::error_code>> write(modbus::RtuMaster& master, QueuedWrite& w);
  void fail_queued(const std::string& why);
  void publish_failure(Instrument& i, const std::string& reason,
                       const std::vector<std::optional<Value>>* fresh = nullptr);
  void schedule_next(Instrument& i, MonoTime now);

  std::vector<std::unique_ptr<Instrument>> instruments_;
  std::unique_ptr<WriteQueue> writes_;
  std::vector<std::unique_ptr<Writer>> writers_;                 // one per writable point
  std::vector<PointWrites::Registration> registrations_;        // after writers_: removed first
  bool serving_ = false;     // the port is open and serve() runs: writes can be sent
  std::string not_serving_;  // why not, for a write that arrives meanwhile
};

}  // namespace weft::apps

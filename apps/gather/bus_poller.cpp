// One bus, one owner. The loop:
//
//   open (with backoff) ──► poll the instrument due first ──► sleep until the
//        ▲                   next one is due ──► ...
//        └──── stream error (EIO, EOF: the adapter vanished) ◄──┘
//
// Readings are "<instrument>.<point>". A failed poll publishes each of the
// instrument's points with quality comm-error (carrying the last good value,
// or NaN before the first), so a consumer sees the outage as data.
#include "weft/apps/gather/bus_poller.hpp"

#include <cmath>
#include <deque>
#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/gather/point_write.hpp"
#include "weft/drivers/modbus/describe.hpp"
#include "weft/drivers/modbus/rtu_master.hpp"

namespace weft::apps {

namespace {
struct PlannedRead {
  modbus::FunctionCode function;
  modbus::AddressRange range;
  std::vector<std::pair<std::size_t, std::uint16_t>> points;  // (point index, offset in the read)
};
}  // namespace

struct BusPoller::Instrument {
  using Read = PlannedRead;
  const InstrumentConfig& cfg;
  std::vector<Read> reads;
  std::vector<std::optional<Value>> last_values;  // per point
  MonoTime next_due{};
  int consecutive_failures = 0;
  bool quarantined = false;
  InstrumentCounters counters;
};

// The writer registered for one writable point: hands requests to the poller.
struct BusPoller::Writer final : PointWriter {
  Writer(BusPoller& p, Instrument& i, std::size_t k) : poller(p), instrument(i), point(k) {}
  void submit(std::shared_ptr<PendingWrite> request) override { poller.submit(instrument, point, std::move(request)); }
  BusPoller& poller;
  Instrument& instrument;
  std::size_t point;
};

struct BusPoller::QueuedWrite {
  std::shared_ptr<PendingWrite> request;
  Instrument* instrument;
  std::size_t point;
  PlannedWrite plan;
};

// Writes waiting for the bus; `wake` is cancelled when one arrives, which
// ends serve()'s sleep until the next poll.
struct BusPoller::WriteQueue {
  explicit WriteQueue(const boost::asio::any_io_executor& ex) : wake(ex) {
    wake.expires_at(boost::asio::steady_timer::time_point::max());
  }
  std::deque<QueuedWrite> queue;
  boost::asio::steady_timer wake;
};

namespace {

modbus::FunctionCode function_for(sim::Table t) {
  switch (t) {
    case sim::Table::coil: return modbus::FunctionCode::read_coils;
    case sim::Table::discrete_input: return modbus::FunctionCode::read_discrete_inputs;
    case sim::Table::holding: return modbus::FunctionCode::read_holding_registers;
    case sim::Table::input: return modbus::FunctionCode::read_input_registers;
  }
  return modbus::FunctionCode::read_holding_registers;
}

bool is_bit_table(sim::Table t) { return t == sim::Table::coil || t == sim::Table::discrete_input; }

// The fewest reads that cover the instrument's points, per table.
std::vector<PlannedRead> plan_reads(const InstrumentConfig& cfg) {
  std::vector<PlannedRead> reads;
  for (sim::Table table : {sim::Table::coil, sim::Table::discrete_input, sim::Table::holding, sim::Table::input}) {
    std::vector<modbus::AddressRange> ranges;
    std::vector<std::size_t> indices;
    for (std::size_t i = 0; i < cfg.points.size(); ++i) {
      const PointConfig& p = cfg.points[i];
      if (p.table != table) continue;
      const auto width = is_bit_table(table) ? std::uint16_t{1} : static_cast<std::uint16_t>(modbus::register_count(p.type));
      ranges.push_back({p.address, width});
      indices.push_back(i);
    }
    if (ranges.empty()) continue;
    modbus::CoalesceOptions options;
    options.max_registers_per_request = is_bit_table(table) ? std::uint16_t{2000}
                                                            : static_cast<std::uint16_t>(cfg.max_registers_per_request);
    options.max_gap = static_cast<std::uint16_t>(cfg.max_gap);
    const modbus::ReadPlan plan = modbus::coalesce(ranges, options);
    const std::size_t first = reads.size();
    for (const auto& r : plan.reads) reads.push_back({function_for(table), r, {}});
    for (std::size_t k = 0; k < plan.placements.size(); ++k)
      reads[first + plan.placements[k].read].points.emplace_back(indices[k], plan.placements[k].offset);
  }
  return reads;
}
}  // namespace

BusPoller::BusPoller(Context& ctx, const PortConfig& port, std::vector<const InstrumentConfig*> instruments,
                     std::unique_ptr<PortBinding> binding)
    : PortOwner(ctx, port, std::move(binding)) {
  const MonoTime now = ctx.clock().now();
  for (const InstrumentConfig* cfg : instruments) {
    auto i = std::make_unique<Instrument>(Instrument{*cfg, plan_reads(*cfg), {}, {}, 0, false, {}});
    i->last_values.resize(cfg->points.size());
    i->next_due = now;
    instruments_.push_back(std::move(i));
  }
  writes_ = std::make_unique<WriteQueue>(ctx.executor());
  not_serving_ = "port " + port.name + " (" + port.settings.path + ") is not open yet";
  for (auto& i : instruments_) {
    for (std::size_t k = 0; k < i->cfg.points.size(); ++k) {
      if (!i->cfg.points[k].writable) continue;
      writers_.push_back(std::make_unique<Writer>(*this, *i, k));
      registrations_.push_back(ctx.bus().writes().add(i->cfg.name + "." + i->cfg.points[k].name, *writers_.back()));
    }
  }
}

BusPoller::~BusPoller() { fail_queued("gather stopped before the write was sent"); }

void BusPoller::fail_queued(const std::string& why) {
  if (!writes_) return;
  while (!writes_->queue.empty()) {
    QueuedWrite w = std::move(writes_->queue.front());
    writes_->queue.pop_front();
    w.request->fail(describe_register(w.instrument->cfg, w.instrument->cfg.points[w.point]) + ": " + why);
  }
}

// A write for point `k` of `i`: refused at once, or queued for serve().
void BusPoller::submit(Instrument& i, std::size_t k, std::shared_ptr<PendingWrite> request) {
  const PointConfig& p = i.cfg.points[k];
  auto planned = plan_write(i.cfg, p, request->value());
  if (auto* why = std::get_if<std::string>(&planned)) return request->fail(*why);
  if (!serving_) return request->fail(describe_register(i.cfg, p) + ": " + not_serving_);
  if (writes_->queue.size() >= kMaxQueuedWrites)
    return request->fail(describe_register(i.cfg, p) + ": " + std::to_string(kMaxQueuedWrites) +
                         " writes already wait for bus " + port_.name + "; try again");
  writes_->queue.push_back(QueuedWrite{std::move(request), &i, k, std::move(std::get<PlannedWrite>(planned))});
  writes_->wake.cancel();
}

// One queued write: sent, the answer awaited, then the instrument read back
// (its readings published) before the request is answered. Returns a stream error.
boost::asio::awaitable<std::optional<boost::system::error_code>> BusPoller::write(modbus::RtuMaster& master,
                                                                                  QueuedWrite& w) {
  const PointConfig& p = w.instrument->cfg.points[w.point];
  const std::string where = describe_register(w.instrument->cfg, p);
  if (w.request->abandoned()) {
    ctx_.log().warn("write {} ({}) for {} dropped unsent: its requester gave up waiting", where, w.plan.raw,
                    w.request->who());
    co_return std::nullopt;
  }
  // Answered however this ends (a stop cancels the transaction).
  struct Answer {
    PendingWrite& request;
    std::string where;
    ~Answer() {
      request.fail(where + ": gather stopped while the write was on the wire (the device may have applied it)");
    }
  } answer{*w.request, where};
  const auto result = co_await master.transact(w.plan.request, port_.master);
  if (const auto* e = std::get_if<modbus::Error>(&result)) {
    if (e->code == std::errc::operation_canceled)
      throw boost::system::system_error(boost::asio::error::operation_aborted);
    const std::string what = modbus::describe(w.instrument->cfg.unit, w.plan.function, w.plan.start, w.plan.count, *e);
    ctx_.log().warn("write {} ({}) for {} failed: {}", where, w.plan.raw, w.request->who(), what);
    w.request->fail(where + ": " + what);
    if (e->code.category() != modbus::category()) co_return boost::system::error_code(e->code);
    co_return std::nullopt;
  }
  ctx_.log().info("write {} ({}) for {}: acknowledged", where, w.plan.raw, w.request->who());
  // Read back now, so the point shows what the device holds when the writer hears "done".
  auto io_error = co_await poll(master, *w.instrument, false);
  w.request->succeed();
  co_return io_error;
}

std::vector<std::pair<std::string, InstrumentCounters>> BusPoller::counters() const {
  std::vector<std::pair<std::string, InstrumentCounters>> out;
  for (const auto& i : instruments_) out.emplace_back(i->cfg.name, i->counters);
  return out;
}

// Every open attempt that fails is a failed poll of every instrument.
void BusPoller::on_open_failed(const std::string& reason, bool) {
  for (auto& i : instruments_) publish_failure(*i, reason);
}

// Polls the instrument due first, one transaction at a time. Returns when
// the stream fails (the port must be reopened).
boost::asio::awaitable<void> BusPoller::serve(ByteStream& stream) {
  using namespace boost::asio::experimental::awaitable_operators;
  modbus::RtuMaster master(stream, ctx_.timers(), line_settings(port_), recorder_);
  serving_ = true;
  // However serve() ends, writes still queued are answered with why.
  struct Closed {
    BusPoller& p;
    ~Closed() {
      p.serving_ = false;
      p.fail_queued(p.not_serving_);
    }
  } closed{*this};
  not_serving_ = "gather stopped before the write was sent";
  for (;;) {
    // Writes first: they go between polls, before the next one.
    while (!writes_->queue.empty()) {
      QueuedWrite w = std::move(writes_->queue.front());
      writes_->queue.pop_front();
      if (auto io_error = co_await write(master, w)) {
        not_serving_ = "port " + port_.name + " failed: " + io_error->message();
        report_io_error(*io_error);
        co_return;
      }
    }
    Instrument* due = instruments_.front().get();
    for (auto& i : instruments_)
      if (i->next_due < due->next_due) due = i.get();  // ties: configuration order
    const Duration period = due->quarantined ? due->cfg.probe_period : due->cfg.period;
    writes_->wake.expires_at(boost::asio::steady_timer::time_point::max());
    const auto woken = co_await (ctx_.sleep_until(due->next_due, default_slack(period)) ||
                                 writes_->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
    if (woken.index() == 1) continue;  // a write arrived (or a stop: the next await throws)
    if (auto io_error = co_await poll(master, *due)) {
      not_serving_ = "port " + port_.name + " failed: " + io_error->message();
      report_io_error(*io_error);
      co_return;
    }
  }
}

// One poll of one instrument: every planned read runs even if one fails
// (delayed errors), then the points are published. Returns a stream error.
boost::asio::awaitable<std::optional<boost::system::error_code>> BusPoller::poll(modbus::RtuMaster& master,
                                                                                 Instrument& i, bool scheduled) {
  ++i.counters.polls;
  std::optional<modbus::Error> first_error;
  std::string first_where;
  std::vector<std::optional<Value>> values(i.cfg.points.size());
  for (const auto& read : i.reads) {
    const auto result = co_await master.transact(
        modbus::read_request(read.function, i.cfg.unit, read.range.start, read.range.count), port_.master);
    if (!std::holds_alternative<modbus::Error>(result) ||
        std::get<modbus::Error>(result).code == modbus::errc::exception_response)
      port_works();  // the device answered
    if (const auto* e = std::get_if<modbus::Error>(&result)) {
      // We are being stopped: a cancelled transaction is not a device error.
      if (e->code == std::errc::operation_canceled)
        throw boost::system::system_error(boost::asio::error::operation_aborted);
      if (e->code == modbus::errc::timeout) ++i.counters.timeouts;
      else if (e->code == modbus::errc::bad_crc) ++i.counters.crc_errors;
      else if (e->code == modbus::errc::exception_response) ++i.counters.exceptions;
      else if (e->code == modbus::errc::line_busy) ++i.counters.line_busy;
      else ++i.counters.other_errors;
      if (e->code.category() != modbus::category()) {  // the stream itself failed: reopen
        publish_failure(i, e->message());
        co_return boost::system::error_code(e->code);  // keeps the category: Asio's EOF is not ENOENT
      }
      if (!first_error) {
        first_error = *e;
        first_where = modbus::describe(i.cfg.unit, read.function, read.range.start, read.range.count, *e);
      }
      continue;
    }
    for (const auto& [index, offset] : read.points) {
      const PointConfig& p = i.cfg.points[index];
      if (const auto* bits = std::get_if<modbus::BitsRead>(&result)) {
        values[index] = Value{static_cast<bool>(bits->bits.at(offset))};
      } else if (const auto* regs = std::get_if<modbus::RegistersRead>(&result)) {
        const auto span = std::span<const std::uint16_t>(regs->registers).subspan(offset, modbus::register_count(p.type));
        values[index] = Value{modbus::decode(span, p.type, p.order, p.scale, p.offset)};
      }
    }
  }
  const MonoTime now = ctx_.clock().now();
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!values[k]) continue;
    i.last_values[k] = values[k];
    ctx_.publish(i.cfg.name + "." + i.cfg.points[k].name, *values[k], Quality::good);
    ++i.counters.readings;
  }
  if (first_error) {
    publish_failure(i, first_where, &values);
  } else {
    ++i.counters.good_polls;
    i.counters.last_good = now;
    if (i.quarantined) ctx_.log().info("instrument {} (unit {}) answers again; polling every period", i.cfg.name, i.cfg.unit);
    i.quarantined = false;
    i.consecutive_failures = 0;
  }
  if (scheduled) schedule_next(i, now);
  co_return std::nullopt;
}

void BusPoller::publish_failure(Instrument& i, const std::string& reason,
                                const std::vector<std::optional<Value>>* fresh) {
  i.counters.last_error = reason;
  ++i.consecutive_failures;
  if (!i.quarantined && i.consecutive_failures >= i.cfg.quarantine_after) {
    i.quarantined = true;
    ++i.counters.quarantines;
    ctx_.log().warn("instrument {} on {}: {} failed polls in a row ({}); probing every {} s until it answers",
                    i.cfg.name, port_.name, i.consecutive_failures, reason,
                    std::chrono::duration<double>(i.cfg.probe_period).count());
  }
  for (std::size_t k = 0; k < i.cfg.points.size(); ++k) {
    if (fresh != nullptr && (*fresh)[k]) continue;  // read fine in this poll: already published good
    Value v = i.last_values[k].value_or(Value{std::numeric_limits<double>::quiet_NaN()});
    ctx_.publish(i.cfg.name + "." + i.cfg.points[k].name, std::move(v), Quality::comm_error);
    ++i.counters.readings;
  }
}

// Drift-free: the next deadline is the previous one plus the period; whole
// periods already past are counted as missed and skipped.
void BusPoller::schedule_next(Instrument& i, MonoTime now) {
  const Duration period = i.quarantined ? i.cfg.probe_period : i.cfg.period;
  i.next_due += period;
  if (i.next_due <= now) {
    const auto behind = static_cast<std::uint64_t>((now - i.next_due) / period) + 1;
    i.counters.missed += behind;
    i.next_due += behind * period;
  }
}

}  // namespace weft::apps

// Simulated Modbus devices: see modbus_device.hpp. Each unit keeps its four
// tables as maps; before answering a read, points are refreshed from their
// value models at the current (possibly virtual) time.
#include "weft/drivers/sim/modbus_device.hpp"

#include <array>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "weft/core/timers.hpp"
#include "weft/drivers/modbus/crc.hpp"

namespace weft::sim {

struct SimBus::Unit {
  SimUnit spec;
  std::vector<ValueSource> sources;
  std::map<std::uint16_t, bool> coils, discrete_inputs;
  std::map<std::uint16_t, std::uint16_t> holding, input;
};

namespace {

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xFF));
}

std::vector<std::uint8_t> exception_frame(std::uint8_t unit, std::uint8_t function, std::uint8_t code) {
  std::vector<std::uint8_t> out{unit, static_cast<std::uint8_t>(function | 0x80), code};
  modbus::append_crc(out);
  return out;
}

template <typename Map>
bool all_mapped(const Map& m, std::uint16_t start, std::uint16_t count) {
  for (std::uint32_t a = start; a < std::uint32_t{start} + count; ++a)
    if (!m.contains(static_cast<std::uint16_t>(a))) return false;
  return true;
}

}  // namespace

std::optional<std::size_t> request_frame_length(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 2) return 0;
  switch (bytes[1]) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
      return 8;
    case 0x0F: case 0x10:
      if (bytes.size() < 7) return 0;
      return 9 + std::size_t{bytes[6]};
    default:
      return std::nullopt;
  }
}

SimBus::SimBus(std::vector<SimUnit> units, modbus::LineSettings line, std::uint64_t seed, bool wire_time)
    : line_(line), wire_time_(wire_time), rng_(seed) {
  for (auto& spec : units) {
    auto u = std::make_unique<Unit>();
    for (const SimPoint& p : spec.points) {
      u->sources.emplace_back(p.model);
      const std::size_t width = p.table == Table::coil || p.table == Table::discrete_input
                                    ? 1 : modbus::register_count(p.type);
      for (std::size_t i = 0; i < width; ++i) {
        const auto a = static_cast<std::uint16_t>(p.address + i);
        switch (p.table) {
          case Table::coil: u->coils[a] = false; break;
          case Table::discrete_input: u->discrete_inputs[a] = false; break;
          case Table::holding: u->holding[a] = 0; break;
          case Table::input: u->input[a] = 0; break;
        }
      }
    }
    u->spec = std::move(spec);
    units_.push_back(std::move(u));
  }
}

SimBus::~SimBus() = default;

void SimBus::refresh(Unit& u, MonoTime now) {
  for (std::size_t i = 0; i < u.spec.points.size(); ++i) {
    const SimPoint& p = u.spec.points[i];
    const double raw = (u.sources[i].sample(now) - p.offset) / (p.scale == 0 ? 1 : p.scale);
    if (p.table == Table::coil || p.table == Table::discrete_input) {
      (p.table == Table::coil ? u.coils : u.discrete_inputs)[p.address] = raw >= 0.5;
      continue;
    }
    const bool integral = p.type != modbus::RegisterType::float32 && p.type != modbus::RegisterType::float64;
    const auto regs = modbus::encode(integral ? std::round(raw) : raw, p.type, p.order);
    auto& table = p.table == Table::holding ? u.holding : u.input;
    for (std::size_t r = 0; r < regs.size(); ++r) table[static_cast<std::uint16_t>(p.address + r)] = regs[r];
  }
}

std::vector<std::uint8_t> SimBus::answer(std::span<const std::uint8_t> request, MonoTime now) {
  if (!modbus::check_crc(request)) {
    ++counters_.bad_frames;
    return {};
  }
  for (auto& u : units_) {
    if (u->spec.unit != request[0]) continue;
    std::vector<std::uint8_t> out = respond(*u, request, now);
    add_glitch(*u, out);
    return out;
  }
  return {};  // nobody with that address on this bus
}

// The line-turnaround glitch of RS-485 transceivers: a few bytes of 0x00 or
// 0xFF in front of the answer. Rolled only when configured, so the seeded
// fault sequence of every other config stays what it was.
void SimBus::add_glitch(const Unit& u, std::vector<std::uint8_t>& answer) {
  if (answer.empty() || u.spec.faults.noise <= 0) return;
  std::uniform_real_distribution<double> roll(0, 1);
  if (roll(rng_) >= u.spec.faults.noise) return;
  ++counters_.faults_injected;
  const std::size_t n = 1 + rng_() % 3;
  answer.insert(answer.begin(), n, rng_() % 2 == 0 ? std::uint8_t{0x00} : std::uint8_t{0xFF});
}

std::vector<std::uint8_t> SimBus::respond(Unit& u, std::span<const std::uint8_t> req, MonoTime now) {
  ++counters_.requests;
  std::uniform_real_distribution<double> roll(0, 1);
  const SimFaults& f = u.spec.faults;
  const std::uint8_t unit = req[0], function = req[1];
  if (roll(rng_) < f.disconnect) {
    ++counters_.faults_injected;
    ++counters_.disconnects;
    disconnecting_ = true;
    return {};
  }
  if (roll(rng_) < f.no_answer) {
    ++counters_.faults_injected;
    return {};
  }
  if (roll(rng_) < f.exception) {
    ++counters_.faults_injected;
    ++counters_.exceptions;
    return exception_frame(unit, function, 0x04);
  }
  if (roll(rng_) < f.garbage) {
    ++counters_.faults_injected;
    std::vector<std::uint8_t> junk(3 + rng_() % 12);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng_());
    return junk;
  }
  refresh(u, now);
  const std::uint16_t start = be16(req, 2), count = be16(req, 4);
  std::vector<std::uint8_t> out{unit, function};
  switch (function) {
    case 0x01: case 0x02: {
      auto& table = function == 0x01 ? u.coils : u.discrete_inputs;
      if (count == 0 || count > 2000) return exception_frame(unit, function, 0x03);
      if (!all_mapped(table, start, count)) return exception_frame(unit, function, 0x02);
      out.push_back(static_cast<std::uint8_t>((count + 7) / 8));
      for (std::size_t i = 0; i < count; ++i) {
        if (i % 8 == 0) out.push_back(0);
        if (table[static_cast<std::uint16_t>(start + i)]) out.back() |= static_cast<std::uint8_t>(1 << (i % 8));
      }
      break;
    }
    case 0x03: case 0x04: {
      auto& table = function == 0x03 ? u.holding : u.input;
      if (count == 0 || count > 125) return exception_frame(unit, function, 0x03);
      if (!all_mapped(table, start, count)) return exception_frame(unit, function, 0x02);
      out.push_back(static_cast<std::uint8_t>(count * 2));
      for (std::size_t i = 0; i < count; ++i) put16(out, table[static_cast<std::uint16_t>(start + i)]);
      break;
    }
    case 0x05: case 0x06: {
      if (function == 0x05 ? !u.coils.contains(start) : !u.holding.contains(start))
        return exception_frame(unit, function, 0x02);
      if (function == 0x05) u.coils[start] = count == 0xFF00;
      else u.holding[start] = count;
      out.assign(req.begin(), req.begin() + 6);
      break;
    }
    case 0x0F: case 0x10: {
      if (function == 0x0F ? !all_mapped(u.coils, start, count) : !all_mapped(u.holding, start, count))
        return exception_frame(unit, function, 0x02);
      for (std::size_t i = 0; i < count; ++i) {
        const auto a = static_cast<std::uint16_t>(start + i);
        if (function == 0x0F) u.coils[a] = (req[7 + i / 8] >> (i % 8)) & 1;
        else u.holding[a] = be16(req, 7 + 2 * i);
      }
      out.assign(req.begin(), req.begin() + 6);
      break;
    }
    default:
      return exception_frame(unit, function, 0x01);
  }
  modbus::append_crc(out);
  if (roll(rng_) < f.bad_crc) {
    ++counters_.faults_injected;
    out.back() ^= 0xFF;
  }
  ++counters_.answered;
  return out;
}

boost::asio::awaitable<void> SimBus::serve(ByteStream& stream, TimerQueue& timers) {
  std::vector<std::uint8_t> pending;
  std::array<std::uint8_t, 256> chunk{};
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(boost::asio::buffer(chunk),
                                                   boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;  // the master went away (EOF) or we were cancelled
    pending.insert(pending.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    for (;;) {
      const auto length = request_frame_length(pending);
      if (!length) {  // not a request we understand: drop it all, as a device would
        ++counters_.bad_frames;
        pending.clear();
        break;
      }
      if (*length == 0 || pending.size() < *length) break;
      const std::vector<std::uint8_t> request(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*length));
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(*length));
      std::vector<std::uint8_t> reply = answer(request, timers.clock().now());
      if (std::exchange(disconnecting_, false)) co_return;
      if (reply.empty()) continue;
      const auto* unit = [&]() -> const SimUnit* {
        for (auto& u : units_) if (u->spec.unit == request[0]) return &u->spec;
        return nullptr;
      }();
      Duration delay = unit != nullptr ? unit->response_delay : Duration::zero();
      // A real device hears the request's last byte, waits out t3.5 to know
      // the frame ended, then needs the answer's wire time to send it.
      if (wire_time_) delay += line_.frame_wire_time(request.size()) + line_.t3_5() + line_.frame_wire_time(reply.size());
      if (delay > Duration::zero()) co_await sleep_for(timers, delay);
      auto [wec, written] = co_await boost::asio::async_write(stream, boost::asio::buffer(reply),
                                                              boost::asio::as_tuple(boost::asio::use_awaitable));
      (void)written;
      if (wec) co_return;
    }
  }
}

}  // namespace weft::sim

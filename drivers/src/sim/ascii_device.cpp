// Simulated ASCII instrument: see ascii_device.hpp. A reading is formatted
// from the fields' value sources at the current (possibly virtual) time,
// then one fault roll per kind, in a fixed order, decides what goes on the
// wire. Faults touch the reading's first line only.
#include "weft/drivers/sim/ascii_device.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "weft/core/ticker.hpp"
#include "weft/core/timers.hpp"

namespace weft::sim {

using namespace boost::asio::experimental::awaitable_operators;

std::string format_sim_value(double value, ascii::FieldType type) {
  char buf[64];
  if (type == ascii::FieldType::integer) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(value)));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.4f", value);
  std::string text = buf;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

AsciiDevice::AsciiDevice(AsciiDeviceSpec spec, std::uint64_t seed) : spec_(std::move(spec)), rng_(seed) {
  for (const auto& f : spec_.format.fields) sources_.emplace_back(f.model);
}

std::vector<std::string> AsciiDevice::lines(MonoTime now) {
  const AsciiFormat& fmt = spec_.format;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < fmt.fields.size(); ++i)
    values.push_back(format_sim_value(sources_[i].sample(now), fmt.fields[i].type));

  std::vector<std::string> out;
  switch (fmt.kind) {
    case ascii::ParseSpec::Kind::key_value: {
      std::string line;
      for (std::size_t i = 0; i < fmt.fields.size(); ++i) {
        if (i > 0) line += fmt.pair_separator;
        line += fmt.fields[i].key;
        line += fmt.kv_separator;
        line += values[i];
      }
      out.push_back(std::move(line));
      break;
    }
    case ascii::ParseSpec::Kind::csv: {
      std::size_t columns = 0;
      for (const auto& f : fmt.fields) columns = std::max(columns, f.index + 1);
      std::vector<std::string> cells(columns);
      for (std::size_t i = 0; i < fmt.fields.size(); ++i) cells[fmt.fields[i].index] = values[i];
      std::string line;
      for (std::size_t c = 0; c < columns; ++c) {
        if (c > 0) line += fmt.delimiter;
        line += cells[c];
      }
      out.push_back(std::move(line));
      break;
    }
    case ascii::ParseSpec::Kind::nmea: {
      // One sentence per configured sentence, in order of first appearance.
      std::vector<std::string> sentences;
      for (const auto& f : fmt.fields)
        if (std::find(sentences.begin(), sentences.end(), f.sentence) == sentences.end()) sentences.push_back(f.sentence);
      for (const auto& sentence : sentences) {
        std::size_t count = 0;
        for (const auto& f : fmt.fields)
          if (f.sentence == sentence) count = std::max(count, f.index);
        std::vector<std::string> cells(count + 1);
        cells[0] = sentence.size() == 3 ? "GP" + sentence : sentence;
        for (std::size_t i = 0; i < fmt.fields.size(); ++i)
          if (fmt.fields[i].sentence == sentence) cells[fmt.fields[i].index] = values[i];
        std::string body;
        for (std::size_t c = 0; c < cells.size(); ++c) {
          if (c > 0) body += ',';
          body += cells[c];
        }
        char sum[4];
        std::snprintf(sum, sizeof sum, "%02X", static_cast<unsigned>(ascii::nmea_checksum(body)));
        out.push_back("$" + body + "*" + sum);
      }
      break;
    }
  }
  return out;
}

std::string AsciiDevice::format(MonoTime now) {
  std::string bytes;
  for (const auto& line : lines(now)) bytes += line + spec_.format.terminator;
  return bytes;
}

// Random bytes that hold one line: never the terminator's bytes, always a
// byte that cannot start UTF-8 (0xFE) and a control byte.
std::string AsciiDevice::garbage() {
  std::string junk = "\xFE";
  const std::size_t n = 3 + rng_() % 22;
  for (std::size_t i = 0; i < n; ++i) {
    char c = static_cast<char>(rng_() & 0xFF);
    if (c == '\r' || c == '\n' || spec_.format.terminator.find(c) != std::string::npos) c = '\x01';
    junk += c;
  }
  junk += '\x07';
  return junk;
}

std::string AsciiDevice::emit(MonoTime now) {
  ++counters_.readings;
  std::uniform_real_distribution<double> roll(0, 1);
  const AsciiFaults& f = spec_.faults;
  const std::string& term = spec_.format.terminator;
  std::vector<std::string> out = lines(now);
  const auto faulted = [&] { ++counters_.faults_injected; };
  if (roll(rng_) < f.disconnect) {
    faulted();
    ++counters_.disconnects;
    disconnecting_ = true;
    return {};
  }
  if (roll(rng_) < f.no_answer) {
    faulted();
    return {};
  }
  bool terminate_first = true;
  if (roll(rng_) < f.garbage) {
    faulted();
    out.front() = garbage();
  } else if (roll(rng_) < f.overlong) {
    faulted();
    out.front().append(spec_.max_line + 1 - std::min(spec_.max_line, out.front().size()), '#');
  } else if (roll(rng_) < f.truncated && out.front().size() > 1) {
    faulted();
    out.front().resize(1 + rng_() % (out.front().size() - 1));
    terminate_first = false;
  } else if (spec_.format.kind == ascii::ParseSpec::Kind::nmea && roll(rng_) < f.bad_checksum) {
    faulted();
    std::string& line = out.front();  // "...*HH": change the checksum, keep it two hex digits
    const unsigned sum = static_cast<unsigned>(std::stoul(line.substr(line.size() - 2), nullptr, 16)) ^ 0x5Au;
    char hex[4];
    std::snprintf(hex, sizeof hex, "%02X", sum);
    line.replace(line.size() - 2, 2, hex);
  }
  std::string bytes;
  for (std::size_t i = 0; i < out.size(); ++i) {
    bytes += out[i];
    if (i > 0 || terminate_first) bytes += term;
  }
  return bytes;
}

boost::asio::awaitable<bool> AsciiDevice::write(ByteStream& stream, TimerQueue& timers, const std::string& bytes) {
  const MonoTime give_up = timers.clock().now() + spec_.period;
  auto outcome = co_await (boost::asio::async_write(stream, boost::asio::buffer(bytes),
                                                    boost::asio::as_tuple(boost::asio::use_awaitable)) ||
                           expires_at(timers, give_up));
  if (outcome.index() == 1) {  // nobody is draining the line: this reading is lost, as on a wire
    ++counters_.dropped_writes;
    co_return true;
  }
  co_return !std::get<0>(std::get<0>(outcome));
}

boost::asio::awaitable<void> AsciiDevice::serve(ByteStream& stream, TimerQueue& timers) {
  disconnecting_ = false;
  if (spec_.request.empty()) co_await stream_readings(stream, timers);
  else co_await answer_requests(stream, timers);
}

// Drift-free: reading k goes out at start + k * period (a late one skips).
boost::asio::awaitable<void> AsciiDevice::stream_readings(ByteStream& stream, TimerQueue& timers) {
  Ticker ticker(timers, nullptr, spec_.period, {Duration::zero(), Duration::zero()});
  for (;;) {
    co_await ticker.next();
    const std::string bytes = emit(timers.clock().now());
    if (disconnecting_) co_return;
    if (!bytes.empty() && !co_await write(stream, timers, bytes)) co_return;
  }
}

// Bytes that are not the request are dropped, as a device ignores noise.
boost::asio::awaitable<void> AsciiDevice::answer_requests(ByteStream& stream, TimerQueue& timers) {
  std::string pending;
  std::array<char, 256> chunk{};
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(boost::asio::buffer(chunk),
                                                   boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) co_return;  // the reader went away (EOF) or we were cancelled
    pending.append(chunk.data(), n);
    for (std::size_t at; (at = pending.find(spec_.request)) != std::string::npos;) {
      pending.erase(0, at + spec_.request.size());
      ++counters_.requests;
      const std::string bytes = emit(timers.clock().now());
      if (disconnecting_) co_return;
      if (bytes.empty()) continue;
      if (spec_.response_delay > Duration::zero()) co_await sleep_for(timers, spec_.response_delay);
      if (!co_await write(stream, timers, bytes)) co_return;
    }
    if (pending.size() >= spec_.request.size()) pending.erase(0, pending.size() - (spec_.request.size() - 1));
  }
}

}  // namespace weft::sim

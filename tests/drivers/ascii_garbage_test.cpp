// Garbage in, nothing bad out: 100,000 random lines (fixed seed) — raw bytes and
// near-miss text — streamed through a LineFramer in random chunks and parsed by every
// kind of spec never crash, and a line yields values only when it is well-formed:
// never from an overlong line, never from an NMEA sentence whose checksum (checked
// here independently) is wrong, never a non-finite number or a string unfit for a log.
#include "weft/drivers/ascii/line_framer.hpp"
#include "weft/drivers/ascii/parse_spec.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>

#include "weft/drivers/ascii/escape.hpp"

using weft::ascii::Column;
using weft::ascii::FieldType;
using weft::ascii::FramerOptions;
using weft::ascii::KeyValueOptions;
using weft::ascii::LineFramer;
using weft::ascii::ParseCode;
using AsciiParseResult = weft::ascii::ParseResult;
using weft::ascii::ParseSpec;

namespace {

constexpr std::size_t max_line = 120;

// A random line: raw bytes, text made of the characters the parsers care about, or a
// GGA sentence with random digits and a correct checksum, half of them then corrupted.
std::string random_line(std::mt19937& rng) {
  static const std::string near_miss = "$*,=:;\" \t0123456789.-+eEGPAMNX\\\x01\xff\xc3\xa9";
  std::uniform_int_distribution<int> style(0, 4);
  std::uniform_int_distribution<int> length(0, 100);
  std::uniform_int_distribution<int> any(0, 255);
  std::uniform_int_distribution<int> digit('0', '9');
  std::uniform_int_distribution<std::size_t> pick(0, near_miss.size() - 1);
  std::string line;
  const int s = style(rng);
  if (s == 4) {
    std::string body = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,";
    for (auto& c : body) {
      if (c >= '0' && c <= '9') c = static_cast<char>(digit(rng));
    }
    unsigned sum = 0;
    for (const char c : body) sum ^= static_cast<unsigned char>(c);
    static constexpr char hex[] = "0123456789ABCDEF";
    line = "$" + body + "*" + hex[sum >> 4] + hex[sum & 0x0F];
    if (any(rng) % 2 == 0) {
      std::uniform_int_distribution<std::size_t> at(0, line.size() - 1);
      line[at(rng)] = static_cast<char>(any(rng));  // may by chance write the same byte
      if (line.find('\n') != std::string::npos) line = "";
    }
    return line;
  }
  const int n = length(rng);
  for (int k = 0; k < n; ++k) {
    char c = s == 0 ? static_cast<char>(any(rng)) : near_miss[pick(rng)];
    if (c == '\n') c = ' ';  // the terminator; lines are cut by the framer anyway
    line += c;
  }
  if (s == 3 && !line.empty()) line[0] = '$';  // looks like a sentence
  return line;
}

// An overlong line that would be valid if it were short: it must yield nothing.
std::string overlong_line() {
  std::string line;
  while (line.size() <= max_line) line += "OVER=1 ";
  return line;
}

// Independent check of an NMEA checksum: '$', body, '*', two hex digits matching.
bool checksum_holds(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '\r')) line.remove_prefix(1);
  const auto star = line.rfind('*');
  if (line.empty() || line.front() != '$' || star == std::string_view::npos || line.size() != star + 3) return false;
  unsigned sum = 0;
  for (std::size_t i = 1; i < star; ++i) sum ^= static_cast<unsigned char>(line[i]);
  const auto hex = [](char c) -> unsigned {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    return 256;  // never equal to a sum
  };
  return hex(line[star + 1]) * 16 + hex(line[star + 2]) == sum;
}

struct Tally {
  std::size_t ok = 0;
  std::size_t ignored = 0;
  std::size_t errors = 0;
  std::size_t violations = 0;
};

void check(const AsciiParseResult& r, const std::set<std::string>& names, Tally& tally) {
  if (r.ok()) {
    ++tally.ok;
    if (!r.message.empty()) ++tally.violations;
  } else {
    ++(r.ignored() ? tally.ignored : tally.errors);
    if (!r.values.empty() || r.message.empty()) ++tally.violations;
    // One printable line; the quoted line is cut to ~80 chars.
    if (!weft::ascii::is_printable_utf8(r.message) || r.message.size() > 300) ++tally.violations;
  }
  for (const auto& v : r.values) {
    if (!names.empty() && !names.count(v.name)) ++tally.violations;
    if (names.empty() && (v.name.empty() || !weft::ascii::is_printable_utf8(v.name))) ++tally.violations;
    if (v.name == "OVER") ++tally.violations;
    if (const auto* d = std::get_if<double>(&v.value); d && !std::isfinite(*d)) ++tally.violations;
    if (const auto* s = std::get_if<std::string>(&v.value); s && (s->empty() || !weft::ascii::is_printable_utf8(*s))) {
      ++tally.violations;
    }
  }
}

}  // namespace

TEST_CASE("ascii garbage: 100k random lines never crash and never yield a bad reading", "[ascii][garbage]") {
  std::mt19937 rng(424242);
  std::string stream;
  std::size_t overlong = 0;
  std::uniform_int_distribution<int> percent(0, 99);
  for (int i = 0; i < 100000; ++i) {
    if (percent(rng) == 0) {
      stream += overlong_line();
      ++overlong;
    } else {
      stream += random_line(rng);
    }
    stream += '\n';
  }

  LineFramer framer(FramerOptions{"\n", max_line, true});
  std::vector<std::string> lines;
  std::uniform_int_distribution<std::size_t> chunk(1, 300);
  for (std::size_t pos = 0; pos < stream.size();) {
    const std::size_t n = std::min(chunk(rng), stream.size() - pos);
    auto out = framer.feed(std::string_view(stream).substr(pos, n));
    for (auto& line : out.lines) lines.push_back(std::move(line));
    pos += n;
  }
  CHECK(framer.counters().overlong_discarded == overlong);
  CHECK(lines.size() + framer.counters().overlong_discarded == 100000);
  for (const auto& line : lines) {
    REQUIRE(line.size() <= max_line);
    REQUIRE(line.find('\n') == std::string::npos);
  }

  KeyValueOptions declared;
  declared.keys = {{"T", "t"}, {"H", "h", FieldType::integer, true}, {"S", "s", FieldType::text, true}};
  const ParseSpec kv_all = ParseSpec::key_value({});
  const ParseSpec kv_declared = ParseSpec::key_value(declared);
  const ParseSpec kv_colon = ParseSpec::key_value({';', ':', {}});
  const ParseSpec csv = ParseSpec::csv({{0, "a"}, {2, "b", FieldType::automatic}, {3, "c", FieldType::text, true}});
  const ParseSpec tsv = ParseSpec::csv({{1, "a", FieldType::integer}}, ' ');
  const ParseSpec nmea = ParseSpec::nmea({{"GPGGA", 2, "lat"}, {"GGA", 3, "ns", FieldType::text},
                                          {"M", 1, "m", FieldType::automatic, true}},
                                         true);
  const ParseSpec nmea_lax = ParseSpec::nmea({{"GPGGA", 2, "lat"}}, false);

  Tally tally;
  std::size_t nmea_ok = 0;
  for (const auto& line : lines) {
    check(kv_all.parse(line), {}, tally);
    check(kv_declared.parse(line), {"t", "h", "s"}, tally);
    check(kv_colon.parse(line), {}, tally);
    check(csv.parse(line), {"a", "b", "c"}, tally);
    check(tsv.parse(line), {"a"}, tally);
    const AsciiParseResult n = nmea.parse(line);
    check(n, {"lat", "ns", "m"}, tally);
    if (n.ok() || n.ignored()) {
      ++nmea_ok;
      if (!checksum_holds(line)) ++tally.violations;
    }
    check(nmea_lax.parse(line), {"lat"}, tally);
  }
  INFO("ok " << tally.ok << ", ignored " << tally.ignored << ", errors " << tally.errors << ", nmea ok " << nmea_ok);
  CHECK(tally.violations == 0);
  // The mix exercised both outcomes, so the invariants above were not checked vacuously.
  CHECK(tally.ok > 1000);
  CHECK(tally.errors > 100000);
  CHECK(nmea_ok > 5000);  // the intact sentences, each re-checked above
}

TEST_CASE("ascii garbage: random byte chunks through the framer stay bounded", "[ascii][garbage]") {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> any(0, 255);
  std::uniform_int_distribution<std::size_t> size(1, 500);
  for (const std::string terminator : {"\n", "\r\n", "\x03", "\xff\xfe"}) {
    LineFramer framer(FramerOptions{terminator, 16, true});
    std::uint64_t fed = 0;
    for (int i = 0; i < 2000; ++i) {
      std::string chunk(size(rng), '\0');
      for (auto& c : chunk) c = static_cast<char>(any(rng));
      fed += chunk.size();
      const auto out = framer.feed(chunk);
      for (const auto& line : out.lines) {
        REQUIRE(line.size() <= 16);
        REQUIRE(line.find(terminator) == std::string::npos);
      }
      for (const auto& d : out.discards) REQUIRE(d.length > 16);
      REQUIRE(framer.pending_bytes() <= (framer.discarding() ? fed : 16 + 1 + terminator.size()));
    }
    CHECK(framer.counters().bytes == fed);
    CHECK(framer.counters().lines + framer.counters().overlong_discarded > 0);
  }
}

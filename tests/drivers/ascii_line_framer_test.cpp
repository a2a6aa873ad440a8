// Proves LineFramer's contract: for many terminators (self-overlapping ones included)
// the lines from random chunkings (fixed seed) equal those a whole-buffer split gives;
// overlong lines are dropped whole and reported once; CR/LF handling; bad options.
// line_framer.hpp is included first to prove it is self-contained.
#include "weft/drivers/ascii/line_framer.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using weft::ascii::Discard;
using weft::ascii::DiscardReason;
using weft::ascii::FeedResult;
using weft::ascii::FramerOptions;
using weft::ascii::LineFramer;

namespace {

struct Framed {
  std::vector<std::string> lines;
  std::vector<Discard> discards;
  std::size_t tail = 0;  // bytes after the last terminator
};

// The reference: split the whole buffer at each leftmost terminator, strip, drop long lines.
Framed split_whole(std::string_view buffer, const FramerOptions& o) {
  Framed out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = buffer.find(o.terminator, pos);
    if (at == std::string_view::npos) {
      out.tail = buffer.size() - pos;
      break;
    }
    std::string line(buffer.substr(pos, at - pos));
    const std::size_t raw = line.size();
    if (o.strip_cr && o.terminator == "\n" && !line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() <= o.max_line) {
      out.lines.push_back(line);
    } else {
      out.discards.push_back({DiscardReason::overlong, raw, std::string(buffer.substr(pos, std::min<std::size_t>(raw, Discard::head_max)))});
    }
    pos = at + o.terminator.size();
  }
  return out;
}

void append(Framed& to, FeedResult&& from) {
  for (auto& line : from.lines) to.lines.push_back(std::move(line));
  for (auto& discard : from.discards) to.discards.push_back(std::move(discard));
}

// Feeds `buffer` in chunks of random sizes in [1, max_chunk].
Framed feed_chunked(LineFramer& framer, std::string_view buffer, std::mt19937& rng, std::size_t max_chunk) {
  Framed out;
  std::uniform_int_distribution<std::size_t> size(1, max_chunk);
  for (std::size_t pos = 0; pos < buffer.size();) {
    const std::size_t n = std::min(size(rng), buffer.size() - pos);
    append(out, framer.feed(buffer.substr(pos, n)));
    pos += n;
  }
  return out;
}

// A stream dense in terminator bytes (so partial matches are common), with some long
// lines that lack the terminator's last byte (so they stay long, partial matches and all).
std::string random_stream(std::mt19937& rng, const std::string& terminator, std::size_t lines) {
  const std::string alphabet = terminator + "\r\nab$,=x";
  std::string long_alphabet;
  for (const char c : alphabet) {
    if (c != terminator.back()) long_alphabet += c;
  }
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<std::size_t> pick_long(0, long_alphabet.size() - 1);
  std::uniform_int_distribution<int> length(0, 40);
  std::uniform_int_distribution<int> long_length(30, 100);
  std::uniform_int_distribution<int> percent(0, 99);
  std::string out;
  for (std::size_t i = 0; i < lines; ++i) {
    if (percent(rng) < 10) {
      const int n = long_length(rng);
      for (int k = 0; k < n; ++k) out += long_alphabet[pick_long(rng)];
    } else {
      const int n = length(rng);
      for (int k = 0; k < n; ++k) out += alphabet[pick(rng)];
    }
    out += terminator;
  }
  out += "partial";  // an unterminated tail is never a line
  return out;
}

bool same_discards(const std::vector<Discard>& a, const std::vector<Discard>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].reason != b[i].reason || a[i].length != b[i].length || a[i].head != b[i].head) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("ascii framer: random chunk boundaries give exactly the whole-buffer lines", "[ascii][framer]") {
  std::mt19937 rng(20240611);
  for (const std::string terminator : {"\n", "\r\n", "\r", "\x03", "ab", "aab", "abab", "\r\n\r\n", "aaaa"}) {
    for (const bool strip_cr : {true, false}) {
      FramerOptions options{terminator, 32, strip_cr};
      const std::string stream = random_stream(rng, terminator, 400);
      const Framed expected = split_whole(stream, options);
      INFO("terminator bytes " << terminator.size() << " '" << terminator << "', strip_cr " << strip_cr);
      REQUIRE(expected.lines.size() > 100);
      REQUIRE(!expected.discards.empty());
      REQUIRE(expected.tail >= std::string_view("partial").size());
      for (const std::size_t max_chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                                          std::size_t{64}, stream.size()}) {
        LineFramer framer(options);
        const Framed got = feed_chunked(framer, stream, rng, max_chunk);
        INFO("max chunk " << max_chunk);
        CHECK(got.lines == expected.lines);
        CHECK(same_discards(got.discards, expected.discards));
        CHECK(framer.counters().lines == expected.lines.size());
        CHECK(framer.counters().overlong_discarded == expected.discards.size());
        CHECK(framer.counters().bytes == stream.size());
        CHECK(framer.pending_bytes() == expected.tail);
        for (const auto& line : got.lines) CHECK(line.size() <= options.max_line);
      }
    }
  }
}

TEST_CASE("ascii framer: an overlong line is dropped whole, up to its terminator", "[ascii][framer]") {
  LineFramer framer(FramerOptions{"\n", 8, true});
  SECTION("within one chunk") {
    const FeedResult out = framer.feed("short\n0123456789\nok\n");
    CHECK(out.lines == std::vector<std::string>{"short", "ok"});
    REQUIRE(out.discards.size() == 1);
    CHECK(out.discards[0].reason == DiscardReason::overlong);
    CHECK(out.discards[0].length == 10);
    CHECK(out.discards[0].head == "0123456789");
  }
  SECTION("spread over many chunks, never split into readings") {
    CHECK(framer.feed("0123").lines.empty());
    CHECK(framer.feed("456789").lines.empty());  // 10 bytes: over the limit (8, +1 for a '\r')
    CHECK(framer.discarding());
    for (int i = 0; i < 10000; ++i) {
      const FeedResult out = framer.feed("more bytes without a terminator ");
      CHECK(out.lines.empty());
      CHECK(out.discards.empty());
    }
    const FeedResult out = framer.feed("tail\nnext\n");
    CHECK(out.lines == std::vector<std::string>{"next"});
    REQUIRE(out.discards.size() == 1);
    CHECK(out.discards[0].length == 10 + 10000 * 32 + 4);
    CHECK(out.discards[0].head == std::string("0123456789more bytes without a terminator ").substr(0, 32));
    CHECK(!framer.discarding());
  }
  SECTION("exactly max_line bytes is a line, one more is not") {
    const FeedResult out = framer.feed("12345678\n123456789\n");
    CHECK(out.lines == std::vector<std::string>{"12345678"});
    CHECK(out.discards.size() == 1);
    CHECK(framer.counters().overlong_discarded == 1);
    CHECK(framer.counters().lines == 1);
  }
  SECTION("a multi-byte terminator straddling the limit") {
    LineFramer crlf(FramerOptions{"\r\n", 4, true});
    const FeedResult out = crlf.feed("abcd\r\nabcde\r\nab\r\r\n");
    CHECK(out.lines == std::vector<std::string>{"abcd", "ab\r"});
    CHECK(out.discards.size() == 1);
  }
}

TEST_CASE("ascii framer: CR LF handling", "[ascii][framer]") {
  SECTION("terminator \\n strips one trailing \\r by default") {
    LineFramer framer;
    CHECK(framer.feed("a\r\nb\nc\r\r\n\r\n").lines == std::vector<std::string>{"a", "b", "c\r", ""});
  }
  SECTION("strip_cr off keeps it") {
    LineFramer framer(FramerOptions{"\n", 256, false});
    CHECK(framer.feed("a\r\nb\n").lines == std::vector<std::string>{"a\r", "b"});
  }
  SECTION("the stripped \\r does not count towards max_line") {
    LineFramer framer(FramerOptions{"\n", 3, true});
    const FeedResult out = framer.feed("abc\r\nabcd\nab\r\n");
    CHECK(out.lines == std::vector<std::string>{"abc", "ab"});
    REQUIRE(out.discards.size() == 1);
    CHECK(out.discards[0].length == 4);
  }
  SECTION("terminator \\r\\n split across chunks, lone \\r kept inside a line") {
    LineFramer framer(FramerOptions{"\r\n", 256, true});
    CHECK(framer.feed("one\r").lines.empty());
    CHECK(framer.feed("\ntw").lines == std::vector<std::string>{"one"});
    CHECK(framer.feed("o\rthree\r").lines.empty());
    CHECK(framer.feed("\n").lines == std::vector<std::string>{"two\rthree"});
  }
  SECTION("terminator \\r leaves the \\n of a CR LF instrument at the start of the next line") {
    LineFramer framer(FramerOptions{"\r", 256, true});
    CHECK(framer.feed("a\r\nb\r").lines == std::vector<std::string>{"a", "\nb"});
  }
}

TEST_CASE("ascii framer: bytes, empty lines, reset and options", "[ascii][framer]") {
  SECTION("std::byte chunks") {
    LineFramer framer;
    const std::vector<std::byte> bytes{std::byte{'h'}, std::byte{'i'}, std::byte{'\n'}, std::byte{0xff},
                                       std::byte{0}, std::byte{'\n'}};
    CHECK(framer.feed(std::span<const std::byte>(bytes)).lines ==
          std::vector<std::string>{"hi", std::string("\xff\0", 2)});
  }
  SECTION("empty lines are lines") {
    LineFramer framer;
    CHECK(framer.feed("\n\n").lines == std::vector<std::string>{"", ""});
  }
  SECTION("reset drops and reports the partial line") {
    LineFramer framer(FramerOptions{"\r\n", 4, true});
    CHECK(!framer.reset());
    framer.feed("ab\r");
    const auto dropped = framer.reset();
    REQUIRE(dropped);
    CHECK(dropped->reason == DiscardReason::reset);
    CHECK(dropped->length == 3);
    CHECK(dropped->head == "ab\r");
    CHECK(framer.feed("\ncd\r\n").lines == std::vector<std::string>{"\ncd"});  // the old \r is gone
    framer.feed("toolong");
    CHECK(framer.reset()->head == "toolong");
    CHECK(framer.feed("x\r\n").lines == std::vector<std::string>{"x"});
  }
  SECTION("bad options are refused with a reason") {
    CHECK(LineFramer::invalid_reason(FramerOptions{}) == std::nullopt);
    CHECK(LineFramer::invalid_reason(FramerOptions{"", 10, true}).has_value());
    CHECK(LineFramer::invalid_reason(FramerOptions{"12345", 10, true}).has_value());
    CHECK(LineFramer::invalid_reason(FramerOptions{"\n", 0, true}).has_value());
    CHECK_THROWS_AS(LineFramer(FramerOptions{"", 10, true}), std::invalid_argument);
    CHECK_THROWS_WITH(LineFramer(FramerOptions{"12345", 10, true}), Catch::Contains("1 to 4 bytes"));
    CHECK_NOTHROW(LineFramer(FramerOptions{"1234", 1, false}));
  }
}

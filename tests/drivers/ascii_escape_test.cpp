// Proves escape_non_utf8 against an independent reference (decode, then check range,
// overlong and surrogates) over every code point, every 2-byte and every 3-byte input
// with a lead byte, the classic known-invalid sequences and 100,000 random strings;
// and that the output is always one printable UTF-8 line that unescapes to the input.
// escape.hpp is included first to prove it is self-contained.
#include "weft/drivers/ascii/escape.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

using weft::ascii::escape_for_log;
using weft::ascii::escape_non_utf8;
using weft::ascii::is_printable_utf8;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (const int b : list) out += static_cast<char>(b);
  return out;
}

std::string encode(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

std::string hex(std::uint8_t b) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string("\\x") + digits[b >> 4] + digits[b & 0x0F];
}

// The reference: decode greedily by the lead byte's declared length, then reject
// overlongs, surrogates and code points past U+10FFFF; escape a rejected lead byte
// alone and carry on with the next byte.
std::string reference_escape(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b0 < 0x80) len = 1, cp = b0;
    else if ((b0 & 0xE0) == 0xC0) len = 2, cp = b0 & 0x1F;
    else if ((b0 & 0xF0) == 0xE0) len = 3, cp = b0 & 0x0F;
    else if ((b0 & 0xF8) == 0xF0) len = 4, cp = b0 & 0x07;
    bool valid = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      valid = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && cp >= min_for_length[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!valid) {
      out += hex(b0);
      ++i;
      continue;
    }
    const bool control = (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F);
    for (std::size_t k = 0; k < len; ++k) {
      if (control) out += hex(static_cast<std::uint8_t>(s[i + k]));
      else if (s[i + k] == '\\') out += "\\\\";
      else out += s[i + k];
    }
    i += len;
  }
  return out;
}

// n times 'a', then `tail` (built in place: g++ 12 warns falsely on string + literal).
std::string a_then(std::size_t n, std::string_view tail) {
  std::string s(n, 'a');
  s.append(tail);
  return s;
}

// Inverse of the escaping: "\\" and "\xNN" back to bytes.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
    } else if (s[i + 1] == '\\') {
      out += '\\';
      ++i;
    } else {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 2, 2)), nullptr, 16));
      i += 3;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("ascii escape: valid UTF-8 passes through", "[ascii][escape]") {
  CHECK(escape_non_utf8("") == "");
  CHECK(escape_non_utf8("T=21.5 H=40\tok") == "T=21.5 H=40\tok");
  CHECK(escape_non_utf8("25 \xC2\xB0" "C caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E") ==
        "25 \xC2\xB0" "C caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E");
  CHECK(escape_non_utf8(bytes({0xF4, 0x8F, 0xBF, 0xBF})) == bytes({0xF4, 0x8F, 0xBF, 0xBF}));  // U+10FFFF
  CHECK(escape_non_utf8(bytes({0xEF, 0xBF, 0xBF})) == bytes({0xEF, 0xBF, 0xBF}));              // U+FFFF
  CHECK(escape_non_utf8(bytes({0xEE, 0x80, 0x80})) == bytes({0xEE, 0x80, 0x80}));              // U+E000
}

TEST_CASE("ascii escape: backslash and control characters", "[ascii][escape]") {
  CHECK(escape_non_utf8("a\\b") == "a\\\\b");
  CHECK(escape_non_utf8("\\x41") == "\\\\x41");  // never confused with an escape
  CHECK(escape_non_utf8("line\r\n") == "line\\x0d\\x0a");
  CHECK(escape_non_utf8(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(escape_non_utf8("\x1b[31m") == "\\x1b[31m");
  CHECK(escape_non_utf8("\x7f") == "\\x7f");
  CHECK(escape_non_utf8(bytes({0xC2, 0x85})) == "\\xc2\\x85");  // U+0085 NEXT LINE (C1)
  CHECK(escape_non_utf8(bytes({0xC2, 0x9F})) == "\\xc2\\x9f");
  CHECK(escape_non_utf8(bytes({0xC2, 0xA0})) == bytes({0xC2, 0xA0}));  // U+00A0 is not a control
  CHECK(escape_non_utf8("\t") == "\t");
}

TEST_CASE("ascii escape: known-invalid sequences", "[ascii][escape]") {
  struct Case {
    std::string input;
    std::string expected;
  };
  const std::vector<Case> cases{
      // lone continuation bytes and bytes that never occur
      {bytes({0x80}), "\\x80"},
      {bytes({0xBF}), "\\xbf"},
      {bytes({0x80, 0xBF, 0x80}), "\\x80\\xbf\\x80"},
      {bytes({0xFE}), "\\xfe"},
      {bytes({0xFF}), "\\xff"},
      {bytes({0xFE, 0xFE, 0xFF, 0xFF}), "\\xfe\\xfe\\xff\\xff"},
      // overlong encodings of '/' and of the largest value for each length
      {bytes({0xC0, 0xAF}), "\\xc0\\xaf"},
      {bytes({0xE0, 0x80, 0xAF}), "\\xe0\\x80\\xaf"},
      {bytes({0xF0, 0x80, 0x80, 0xAF}), "\\xf0\\x80\\x80\\xaf"},
      {bytes({0xF8, 0x80, 0x80, 0x80, 0xAF}), "\\xf8\\x80\\x80\\x80\\xaf"},
      {bytes({0xC1, 0xBF}), "\\xc1\\xbf"},
      {bytes({0xE0, 0x9F, 0xBF}), "\\xe0\\x9f\\xbf"},
      {bytes({0xF0, 0x8F, 0xBF, 0xBF}), "\\xf0\\x8f\\xbf\\xbf"},
      {bytes({0xC0, 0x80}), "\\xc0\\x80"},  // overlong NUL ("modified UTF-8")
      // UTF-16 surrogates, single and paired
      {bytes({0xED, 0xA0, 0x80}), "\\xed\\xa0\\x80"},
      {bytes({0xED, 0xBF, 0xBF}), "\\xed\\xbf\\xbf"},
      {bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), "\\xed\\xa0\\x80\\xed\\xb0\\x80"},
      // beyond U+10FFFF, and the old 5- and 6-byte forms
      {bytes({0xF4, 0x90, 0x80, 0x80}), "\\xf4\\x90\\x80\\x80"},
      {bytes({0xF5, 0x80, 0x80, 0x80}), "\\xf5\\x80\\x80\\x80"},
      {bytes({0xF7, 0xBF, 0xBF, 0xBF}), "\\xf7\\xbf\\xbf\\xbf"},
      {bytes({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}), "\\xfc\\x84\\x80\\x80\\x80\\x80"},
      // truncated sequences, at the end and followed by ASCII or another sequence
      {bytes({0xC3}), "\\xc3"},
      {bytes({0xE2, 0x82}), "\\xe2\\x82"},
      {bytes({0xF0, 0x9D, 0x84}), "\\xf0\\x9d\\x84"},
      {bytes({0xE2, 0x82, 'A'}), "\\xe2\\x82A"},
      {bytes({0xF0, 0x9D, 0xC3, 0xA9}), "\\xf0\\x9d" "\xC3\xA9"},
      {bytes({'a', 0xC3, 0xC3, 0xA9, 'b'}), "a\\xc3" "\xC3\xA9" "b"},
      // a valid character right after garbage survives
      {bytes({0xFF, 0xE2, 0x82, 0xAC}), "\\xff" "\xE2\x82\xAC"},
  };
  for (const auto& c : cases) {
    INFO("expected " << c.expected);
    CHECK(escape_non_utf8(c.input) == c.expected);
    CHECK(reference_escape(c.input) == c.expected);  // the reference agrees with the table
    CHECK_FALSE(is_printable_utf8(c.input));
  }
}

TEST_CASE("ascii escape: every code point", "[ascii][escape]") {
  std::size_t mismatches = 0;
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const std::string s = encode(cp);
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    const bool control = (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F);
    std::string expected;
    if (surrogate || control) {
      for (const char c : s) expected += hex(static_cast<std::uint8_t>(c));
    } else {
      expected = cp == '\\' ? "\\\\" : s;
    }
    if (escape_non_utf8(s) != expected) ++mismatches;
    if (is_printable_utf8(s) == (surrogate || control)) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("ascii escape: every 2-byte and 3-byte input agrees with the reference", "[ascii][escape]") {
  std::size_t mismatches = 0;
  std::string s(2, '\0');
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      s[0] = static_cast<char>(a);
      s[1] = static_cast<char>(b);
      if (escape_non_utf8(s) != reference_escape(s)) ++mismatches;
    }
  }
  s.assign(3, '\0');
  for (int a = 0xC0; a < 256; ++a) {  // lead bytes; the rest is covered by 2-byte inputs
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        s[0] = static_cast<char>(a);
        s[1] = static_cast<char>(b);
        s[2] = static_cast<char>(c);
        if (escape_non_utf8(s) != reference_escape(s)) ++mismatches;
      }
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("ascii escape: random bytes give one printable line that unescapes back", "[ascii][escape]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> length(0, 24);
  std::uniform_int_distribution<int> any(0, 255);
  std::uniform_int_distribution<int> high(0x80, 0xFF);
  std::size_t failures = 0;
  for (int n = 0; n < 100000; ++n) {
    std::string s;
    const int len = length(rng);
    for (int k = 0; k < len; ++k) s += static_cast<char>(k % 3 == 0 ? any(rng) : high(rng));
    const std::string escaped = escape_non_utf8(s);
    if (escaped != reference_escape(s)) ++failures;
    if (!is_printable_utf8(escaped)) ++failures;  // valid UTF-8, no newline or other control
    if (unescape(escaped) != s) ++failures;
  }
  CHECK(failures == 0);
}

TEST_CASE("ascii escape: escape_for_log cuts at a unit boundary", "[ascii][escape]") {
  CHECK(escape_for_log("short") == "short");
  CHECK(escape_for_log(std::string(80, 'a')) == std::string(80, 'a'));
  CHECK(escape_for_log(a_then(81, "")) == a_then(80, "..."));
  CHECK(escape_for_log(std::string(100, '\xff')) == [] {
    std::string s;
    for (int i = 0; i < 20; ++i) s += "\\xff";
    s += "...";
    return s;
  }());
  CHECK(escape_for_log(a_then(79, "\xff")) == a_then(79, "..."));
  CHECK(escape_for_log(a_then(79, "\\")) == a_then(79, "..."));
  CHECK(escape_for_log(a_then(78, "\xE2\x82\xAC")) == a_then(78, "..."));
  CHECK(escape_for_log(a_then(77, "\xE2\x82\xAC")) == a_then(77, "\xE2\x82\xAC"));
  CHECK(escape_for_log("abcdef", 3) == "abc...");
  CHECK(escape_for_log("ab", 0) == "...");
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> any(0, 255);
  for (int n = 0; n < 2000; ++n) {
    std::string s(static_cast<std::size_t>(n % 200), '\0');
    for (auto& c : s) c = static_cast<char>(any(rng));
    const std::string full = escape_non_utf8(s);
    const std::string cut = escape_for_log(s);
    if (full.size() <= 80) {
      CHECK(cut == full);
    } else {
      REQUIRE(cut.size() >= 3);
      CHECK(cut.substr(cut.size() - 3) == "...");
      const std::string kept = cut.substr(0, cut.size() - 3);
      CHECK(kept.size() <= 80);
      CHECK(kept.size() > 72);  // at most one unit left out: an escaped C1 control is 8 bytes
      CHECK(full.compare(0, kept.size(), kept) == 0);
      CHECK(unescape(kept) == s.substr(0, unescape(kept).size()));  // never cut inside an escape
    }
  }
}

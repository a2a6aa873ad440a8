// Fuzz target: the console's request lines and wire framing
// (core/src/command_line.cpp: split_command_line; apps/console/
// console_protocol.cpp: FrameDecoder, encode_frame, json_string). A console
// client is outside input, and so is a server for weftctl. Invariants:
// - split_command_line: refuses only an unterminated quote, with a reason;
//   the words, quoted back, split to the same words; without quotes it is
//   plain blank separation;
// - FrameDecoder: the same frames (or the same error) whatever the chunk
//   boundaries; an error has a message and ends the stream; encoded frames
//   decode to themselves;
// - json_string: a valid JSON string literal whose decoding gives back the
//   text when the text is valid UTF-8.
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/command_line.hpp"

namespace {

using namespace weft::console;
using weft::fuzz::FuzzBytes;

void check_split(std::string_view line) {
  std::vector<std::string> words;
  std::string error;
  if (!weft::split_command_line(line, words, error)) {
    FUZZ_CHECK(!error.empty(), "a refused line without a reason");
    FUZZ_CHECK(line.find('"') != std::string_view::npos, "refused a line without quotes: %s", error.c_str());
    return;
  }
  std::string again;
  for (const std::string& w : words) {
    FUZZ_CHECK(line.find('"') != std::string_view::npos || !w.empty(), "an empty word without quotes");
    again += again.empty() ? "\"" : " \"";
    for (char c : w) {
      if (c == '"' || c == '\\') again += '\\';
      again += c;
    }
    again += '"';
  }
  std::vector<std::string> words_again;
  FUZZ_CHECK(weft::split_command_line(again, words_again, error) && words_again == words,
             "quoted words do not split back to themselves");
  if (line.find('"') == std::string_view::npos) {
    std::vector<std::string> plain;
    std::string word;
    for (char c : line) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        if (!word.empty()) plain.push_back(std::exchange(word, {}));
      } else {
        word += c;
      }
    }
    if (!word.empty()) plain.push_back(word);
    FUZZ_CHECK(plain == words, "unquoted line split differently from blank separation");
  }
}

struct Decoded {
  std::vector<Frame> frames;
  std::string error;
};

Decoded decode(std::string_view bytes, std::uint8_t chunking) {
  FrameDecoder d;
  Decoded out;
  for (std::size_t at = 0, step = 0; at < bytes.size(); ++step) {
    const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + ((chunking >> (step % 8)) & 1u) * (chunking % 41u));
    d.feed(bytes.substr(at, n));
    at += n;
    while (auto f = d.next()) out.frames.push_back(std::move(*f));
  }
  out.error = d.error();
  if (!out.error.empty()) FUZZ_CHECK(!d.next(), "a frame after a protocol error");
  return out;
}

bool same_frames(const std::vector<Frame>& a, const std::vector<Frame>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].kind != b[i].kind || a[i].payload != b[i].payload) return false;
  return true;
}

void check_frames(std::string_view bytes, std::uint8_t chunking) {
  const Decoded whole = decode(bytes, 0);  // 0: one byte at a time
  const Decoded chunked = decode(bytes, chunking);
  FUZZ_CHECK(same_frames(whole.frames, chunked.frames), "frames depend on chunk boundaries");
  FUZZ_CHECK(whole.error == chunked.error, "the error depends on chunk boundaries: '%s' vs '%s'", whole.error.c_str(),
             chunked.error.c_str());
  for (const Frame& f : whole.frames)
    FUZZ_CHECK(std::string_view("HRDOE").find(static_cast<char>(f.kind)) != std::string_view::npos, "a frame of kind %d",
               static_cast<int>(f.kind));
}

void check_encode(FuzzBytes& in) {
  std::vector<Frame> frames;
  std::string wire;
  while (!in.empty() && frames.size() < 16) {
    const auto kind = static_cast<FrameKind>("HRDOE"[in.u8() % 5]);
    frames.push_back({kind, std::string(in.text(255))});
    wire += encode_frame(kind, frames.back().payload);
  }
  const Decoded d = decode(wire, static_cast<std::uint8_t>(wire.size()));
  FUZZ_CHECK(d.error.empty() && same_frames(d.frames, frames), "encoded frames do not decode to themselves");
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    std::uint32_t cp = n == 1 ? c : c & (0x3Fu >> (n - 1));
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n;
  }
  return true;
}

void check_json(std::string_view text) {
  const std::string j = json_string(text);
  FUZZ_CHECK(j.size() >= 2 && j.front() == '"' && j.back() == '"', "not a quoted literal");
  FUZZ_CHECK(valid_utf8(j), "json_string produced invalid UTF-8");
  std::string back;
  for (std::size_t i = 1; i + 1 < j.size(); ++i) {
    const auto c = static_cast<unsigned char>(j[i]);
    FUZZ_CHECK(c >= 0x20 && c != '"', "a raw control byte or quote inside the literal");
    if (c != '\\') {
      back += j[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < j.size(), "a backslash at the end");
    const char e = j[++i];
    switch (e) {
      case '"': back += '"'; break;
      case '\\': back += '\\'; break;
      case 'n': back += '\n'; break;
      case 'r': back += '\r'; break;
      case 't': back += '\t'; break;
      case 'u':
        FUZZ_CHECK(i + 5 < j.size(), "a short \\u escape");
        back += static_cast<char>(std::stoi(j.substr(i + 1, 4), nullptr, 16));
        i += 4;
        break;
      default: FUZZ_CHECK(false, "escape \\%c is not JSON", e);
    }
  }
  if (valid_utf8(text)) FUZZ_CHECK(back == text, "json_string changed valid UTF-8 text");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  FuzzBytes in(data + 1, size - 1);
  const std::string_view rest = in.rest_text();
  switch (data[0] % 4) {
    case 0: check_split(rest.substr(0, kMaxRequest)); break;
    case 1: check_frames(rest.substr(std::min<std::size_t>(1, rest.size())), rest.empty() ? 0 : static_cast<std::uint8_t>(rest[0])); break;
    case 2: check_encode(in); break;
    default: check_json(rest); break;
  }
  return 0;
}

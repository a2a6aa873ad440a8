// Frames of the console protocol (console_protocol.hpp). Standard library
// only: weftctl compiles this file too.
#include "weft/apps/console/console_protocol.hpp"

#include "weft/apps/json/json_text.hpp"

#include <charconv>
#include <cstdio>

namespace weft::console {

std::string encode_frame(FrameKind kind, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 24);
  out += static_cast<char>(kind);
  out += ' ';
  out += std::to_string(payload.size());
  out += '\n';
  out.append(payload);
  return out;
}

std::optional<Frame> FrameDecoder::next() {
  if (!error_.empty()) return std::nullopt;
  const auto newline = buffer_.find('\n');
  // The same limit whether or not the newline came in the same read, so
  // the verdict does not depend on how the bytes were split.
  constexpr std::size_t max_header = 32;
  if (newline == std::string::npos ? buffer_.size() > max_header : newline > max_header) {
    error_ = "frame header longer than 32 bytes";
    return std::nullopt;
  }
  if (newline == std::string::npos) return std::nullopt;
  const char kind = buffer_[0];
  if (newline < 3 || buffer_[1] != ' ' || std::string_view("HRDOE").find(kind) == std::string_view::npos) {
    error_ = "malformed frame header '" + buffer_.substr(0, newline) + "'";
    return std::nullopt;
  }
  std::size_t length = 0;
  const char* first = buffer_.data() + 2;
  const char* last = buffer_.data() + newline;
  auto [end, ec] = std::from_chars(first, last, length);
  if (ec != std::errc() || end != last || length > kMaxFramePayload) {
    error_ = "bad frame length '" + std::string(first, last) + "'";
    return std::nullopt;
  }
  if (buffer_.size() < newline + 1 + length) return std::nullopt;
  Frame frame{static_cast<FrameKind>(kind), buffer_.substr(newline + 1, length)};
  buffer_.erase(0, newline + 1 + length);
  return frame;
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  weft::apps::append_json_string(out, text);
  return out;
}

}  // namespace weft::console

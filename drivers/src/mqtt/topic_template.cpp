// Topic templates: parsed once (errors name the template and the problem),
// expanded per message without re-parsing.
#include "weft/drivers/mqtt/topic_template.hpp"

namespace weft::mqtt {
namespace {

void append_level_safe(std::string& out, std::string_view value) {
  for (char c : value) out += (c == '/' || c == '+' || c == '#' || c == '\0') ? '_' : c;
}

}  // namespace

std::variant<TopicTemplate, std::string> TopicTemplate::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return "bad topic template '" + std::string(text) + "': " + std::string(why) +
           "; placeholders are {device} and {point}, e.g. \"weft/{device}/{point}\"";
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 1024) return bad("longer than 1024 bytes");
  if (text.find_first_of("+#") != std::string_view::npos) return bad("'+' and '#' are wildcards, not allowed in a publish topic");
  if (text.find('\0') != std::string_view::npos) return bad("contains NUL");
  TopicTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') return bad("'}' without '{'");
    if (text[i] != '{') {
      literal += text[i];
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) return bad("'{' without '}'");
    const std::string_view name = text.substr(i + 1, close - i - 1);
    Part part;
    if (name == "device") {
      part = Part::device;
    } else if (name == "point") {
      part = Part::point;
      t.uses_point_ = true;
    } else {
      return bad("unknown placeholder {" + std::string(name) + "}");
    }
    if (!literal.empty()) t.pieces_.push_back({Part::literal, std::move(literal)});
    literal.clear();
    t.pieces_.push_back({part, {}});
    i = close;
  }
  if (!literal.empty()) t.pieces_.push_back({Part::literal, std::move(literal)});
  return t;
}

std::string TopicTemplate::expand(std::string_view device, std::string_view point) const {
  std::string out;
  out.reserve(text_.size() + device.size() + point.size());
  for (const Piece& p : pieces_) {
    switch (p.part) {
      case Part::literal: out += p.literal; break;
      case Part::device: append_level_safe(out, device); break;
      case Part::point: append_level_safe(out, point); break;
    }
  }
  return out;
}

}  // namespace weft::mqtt

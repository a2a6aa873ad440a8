// A publish topic with placeholders: "site/{device}/{point}". The only
// placeholders are {device} and {point}; anything else in braces is an
// error when the template is parsed, not a surprise at publish time.
// Expanded values never add topic levels or wildcards: '/', '+', '#' and
// NUL in a value become '_', so a point named "a/b" cannot escape its level.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace weft::mqtt {

class TopicTemplate {
public:
  // A template, or a message saying what is wrong with `text`.
  static std::variant<TopicTemplate, std::string> parse(std::string_view text);

  std::string expand(std::string_view device, std::string_view point) const;
  bool uses_point() const noexcept { return uses_point_; }
  const std::string& text() const noexcept { return text_; }

private:
  enum class Part { literal, device, point };
  struct Piece {
    Part part;
    std::string literal;
  };
  std::string text_;
  std::vector<Piece> pieces_;
  bool uses_point_ = false;
};

}  // namespace weft::mqtt

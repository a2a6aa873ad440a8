// split_command_line (command_line.hpp): one pass over the line, a word
// buffer and two flags; standard library only.
#include "weft/core/command_line.hpp"

#include <utility>

namespace weft {

bool split_command_line(std::string_view line, std::vector<std::string>& words, std::string& error) {
  words.clear();
  std::string word;
  bool in_word = false, quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size()) word += line[++i];
      else if (c == '"') quoted = false;
      else word += c;
    } else if (c == '"') {
      quoted = in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) {
    error = "unterminated quote";
    return false;
  }
  if (in_word) words.push_back(std::move(word));
  return true;
}

}  // namespace weft

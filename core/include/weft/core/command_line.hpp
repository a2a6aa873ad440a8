// Splitting a console request line into words (standard library only, so
// the fuzz build compiles it without Asio; commands.hpp includes it).
// Guarantees: never throws but for allocation, reads only `line`, and a
// line either splits (true) or is refused with a reason in `error`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft {

// Splits a command line into words: blanks separate words, "double quotes"
// group them, backslash escapes the next character inside quotes. Returns
// false (and says why in `error`) for an unterminated quote.
bool split_command_line(std::string_view line, std::vector<std::string>& words, std::string& error);

}  // namespace weft

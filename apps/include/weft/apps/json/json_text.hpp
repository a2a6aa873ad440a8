// JSON string literals from arbitrary bytes: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, so whatever
// an instrument or a log line contained, the output is valid JSON. Standard
// library only (weftctl compiles it too).
#pragma once

#include <string>
#include <string_view>

namespace weft::apps {

// Appends `text` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

}  // namespace weft::apps

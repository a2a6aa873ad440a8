// The console's frame decoder (console_protocol.hpp) on headers that only
// a broken or hostile peer sends: the verdict must not depend on how the
// bytes were split into reads.
#include "weft/apps/console/console_protocol.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

namespace {

// Feeds `bytes` in chunks of `chunk` bytes, returns the first frame's
// payload, or the error once there is one (empty: still waiting).
std::string console_protocol_first(const std::string& bytes, std::size_t chunk) {
  weft::console::FrameDecoder d;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    d.feed(std::string_view(bytes).substr(at, chunk));
    if (auto f = d.next()) return "frame: " + f->payload;
    if (!d.error().empty()) return "error: " + d.error();
  }
  return {};
}

}  // namespace

// Found by the console fuzz target: a header over 32 bytes was refused when
// it came byte by byte but accepted (leading zeros in the length) or refused
// with another reason when its newline came in the same read.
TEST_CASE("a frame header over 32 bytes is refused however the bytes arrive", "[console]") {
  const std::string padded = "O 0000000000000000000000000000000002\nok";  // 36-byte header
  CHECK(console_protocol_first(padded, 1) == "error: frame header longer than 32 bytes");
  CHECK(console_protocol_first(padded, padded.size()) == "error: frame header longer than 32 bytes");
  const std::string junk = " 2" + std::string(34, '\0') + "\n";
  CHECK(console_protocol_first(junk, 1) == console_protocol_first(junk, junk.size()));
  // At 32 bytes the header is still fine, both ways.
  const std::string longest = "O " + std::string(29, '0') + "2\nok";
  CHECK(console_protocol_first(longest, 1) == "frame: ok");
  CHECK(console_protocol_first(longest, longest.size()) == "frame: ok");
  CHECK(weft::console::encode_frame(weft::console::FrameKind::ok, "ok") == "O 2\nok");
}

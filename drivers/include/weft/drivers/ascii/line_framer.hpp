// LineFramer: cuts a byte stream, fed in arbitrary chunks, into complete lines.
// Guarantees: the lines are exactly those of the concatenated input, whatever the chunk
// boundaries (a terminator split across chunks included); a line longer than the max
// is dropped whole up to its terminator and reported, never split into several lines;
// memory stays bounded by max_line plus the terminator. Pure: no I/O, no clock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace weft::ascii {

struct FramerOptions {
  std::string terminator = "\n";  // 1 to 4 bytes, e.g. "\n", "\r\n", "\r", "\x03"
  std::size_t max_line = 256;     // bytes before the terminator; at least 1
  bool strip_cr = true;           // with terminator "\n": drop one trailing '\r'
                                  // (it does not count towards max_line)
};

enum class DiscardReason : std::uint8_t {
  overlong,  // more than max_line bytes before the terminator
  reset,     // a partial line dropped by reset()
};
std::string_view to_string(DiscardReason reason) noexcept;

struct Discard {
  DiscardReason reason = DiscardReason::overlong;
  std::size_t length = 0;  // bytes of the dropped line, terminator excluded
  std::string head;        // its first bytes (at most Discard::head_max), raw: escape to log
  static constexpr std::size_t head_max = 32;
};

struct FramerCounters {
  std::uint64_t lines = 0;               // complete lines handed out
  std::uint64_t overlong_discarded = 0;  // lines dropped for length
  std::uint64_t bytes = 0;               // bytes fed
};

struct FeedResult {
  std::vector<std::string> lines;  // terminator stripped, in stream order
  std::vector<Discard> discards;   // overlong lines completed by this chunk
};

class LineFramer {
public:
  // Throws std::invalid_argument when invalid_reason(options) says why.
  explicit LineFramer(FramerOptions options = {});
  // Why `options` cannot frame anything, or nullopt when they are fine.
  static std::optional<std::string> invalid_reason(const FramerOptions& options);

  FeedResult feed(std::span<const std::byte> chunk);
  FeedResult feed(std::string_view chunk);

  // Drops the partial line (after a reconnect, say); reports it if there was one.
  std::optional<Discard> reset();

  const FramerOptions& options() const noexcept { return options_; }
  const FramerCounters& counters() const noexcept { return counters_; }
  std::size_t pending_bytes() const noexcept { return line_bytes_; }  // of the partial line
  bool discarding() const noexcept { return discarding_; }            // inside an overlong line

private:
  void step(char c, FeedResult& out);
  void complete_line(FeedResult& out);
  void start_discard();
  void keep_head(std::string_view bytes);

  FramerOptions options_;
  std::array<std::uint8_t, 4> fallback_{};  // KMP failure function of the terminator
  std::size_t limit_ = 0;                    // content bytes allowed while collecting
  bool strip_cr_ = false;                    // strip_cr applies (terminator is "\n")
  std::string buffer_;                       // the partial line, matched terminator bytes included
  std::size_t line_bytes_ = 0;               // bytes of the partial line, matched bytes included
  std::size_t matched_ = 0;                  // terminator bytes matched at the end of the input
  bool discarding_ = false;
  std::string discard_head_;                 // first bytes of the line being discarded
  FramerCounters counters_;
};

}  // namespace weft::ascii

// LineFramer: a streaming matcher (KMP over the terminator, so a terminator that
// overlaps itself or straddles two chunks is found exactly where a search over the
// whole input would find it) plus a bounded line buffer. Runs of bytes that cannot
// start a terminator are copied in bulk; only terminator candidates go byte by byte.
#include "weft/drivers/ascii/line_framer.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace weft::ascii {

std::string_view to_string(DiscardReason reason) noexcept {
  switch (reason) {
    case DiscardReason::overlong: return "overlong";
    case DiscardReason::reset: return "reset";
  }
  return "unknown";
}

std::optional<std::string> LineFramer::invalid_reason(const FramerOptions& options) {
  if (options.terminator.empty() || options.terminator.size() > 4) {
    return "line terminator must be 1 to 4 bytes, not " + std::to_string(options.terminator.size());
  }
  if (options.max_line == 0) return std::string("max line length must be at least 1 byte");
  if (options.max_line > std::size_t{1} << 30) return std::string("max line length must be at most 1 GiB");
  return std::nullopt;
}

LineFramer::LineFramer(FramerOptions options) : options_(std::move(options)) {
  if (auto why = invalid_reason(options_)) throw std::invalid_argument(*why);
  const std::string& t = options_.terminator;
  // fallback_[k]: length of the longest proper prefix of t[0..k] that is also its suffix.
  for (std::size_t k = 1, len = 0; k < t.size(); ++k) {
    while (len > 0 && t[k] != t[len]) len = fallback_[len - 1];
    if (t[k] == t[len]) ++len;
    fallback_[k] = static_cast<std::uint8_t>(len);
  }
  strip_cr_ = options_.strip_cr && t == "\n";
  limit_ = options_.max_line + (strip_cr_ ? 1 : 0);
}

FeedResult LineFramer::feed(std::span<const std::byte> chunk) {
  return feed(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()));
}

FeedResult LineFramer::feed(std::string_view chunk) {
  FeedResult out;
  counters_.bytes += chunk.size();
  const char first = options_.terminator.front();
  std::size_t i = 0;
  while (i < chunk.size()) {
    if (matched_ == 0 && chunk[i] != first) {
      // No terminator can start before the next `first`: copy the run as content.
      const std::size_t next = std::min(chunk.find(first, i), chunk.size());
      if (!discarding_) {
        // Collecting with nothing matched means line_bytes_ <= limit_; one byte past
        // the limit is enough to know the line is overlong.
        const std::size_t take = std::min(next - i, limit_ + 1 - line_bytes_);
        buffer_.append(chunk.substr(i, take));
        line_bytes_ += take;
        i += take;
        if (line_bytes_ > limit_) start_discard();
      }
      if (discarding_) {
        keep_head(chunk.substr(i, next - i));
        line_bytes_ += next - i;
      }
      i = next;
      continue;
    }
    step(chunk[i++], out);
  }
  return out;
}

void LineFramer::step(char c, FeedResult& out) {
  const std::string& t = options_.terminator;
  while (matched_ > 0 && c != t[matched_]) matched_ = fallback_[matched_ - 1];
  if (c == t[matched_]) ++matched_;
  ++line_bytes_;
  if (discarding_) {
    keep_head(std::string_view(&c, 1));
  } else {
    buffer_ += c;
  }
  if (matched_ == t.size()) {
    complete_line(out);
  } else if (!discarding_ && line_bytes_ - matched_ > limit_) {
    start_discard();
  }
}

void LineFramer::start_discard() {
  discard_head_.assign(buffer_, 0, std::min(buffer_.size(), Discard::head_max));
  buffer_.clear();
  discarding_ = true;
}

void LineFramer::keep_head(std::string_view bytes) {
  // Bytes that may yet turn out to be the terminator are kept too; complete_line()
  // cuts the head back to the line's length.
  if (discard_head_.size() < Discard::head_max) {
    discard_head_.append(bytes.substr(0, Discard::head_max - discard_head_.size()));
  }
}

void LineFramer::complete_line(FeedResult& out) {
  const std::size_t length = line_bytes_ - options_.terminator.size();
  if (!discarding_) {
    buffer_.resize(length);
    if (strip_cr_ && !buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
    if (buffer_.size() <= options_.max_line) {
      out.lines.emplace_back(buffer_);  // a copy: buffer_ keeps its capacity
      ++counters_.lines;
    } else {
      start_discard();  // one byte too long, seen only once the '\r' was not there
    }
  }
  if (discarding_) {
    discard_head_.resize(std::min(discard_head_.size(), length));
    out.discards.push_back({DiscardReason::overlong, length, std::move(discard_head_)});
    ++counters_.overlong_discarded;
  }
  buffer_.clear();
  discard_head_.clear();
  line_bytes_ = 0;
  matched_ = 0;
  discarding_ = false;
}

std::optional<Discard> LineFramer::reset() {
  std::optional<Discard> dropped;
  if (line_bytes_ > 0) {
    std::string head = discarding_ ? std::move(discard_head_)
                                   : buffer_.substr(0, std::min(buffer_.size(), Discard::head_max));
    dropped = Discard{DiscardReason::reset, line_bytes_, std::move(head)};
  }
  buffer_.clear();
  discard_head_.clear();
  line_bytes_ = 0;
  matched_ = 0;
  discarding_ = false;
  return dropped;
}

}  // namespace weft::ascii

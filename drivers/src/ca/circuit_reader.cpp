// The reader's one rule beyond scan_frame: a too_large verdict whose header
// is otherwise sound (aligned) turns into a skip of exactly that many bytes;
// nothing of the payload is stored.
#include "weft/drivers/ca/circuit_reader.hpp"

#include <algorithm>
#include <string>


namespace weft::ca {

void CircuitReader::feed(std::span<const std::uint8_t> bytes) {
  if (broken_) return;
  if (skip_ > 0) {
    const std::size_t dropped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, bytes.size()));
    skip_ -= dropped;
    bytes = bytes.subspan(dropped);
  }
  if (start_ > 0) {  // what was handed out is not needed any more
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  in_.insert(in_.end(), bytes.begin(), bytes.end());
}

std::variant<NeedMore, Frame, Refused, Broken> CircuitReader::next() {
  if (broken_) return Broken{why_broken_};
  if (skip_ > 0) return NeedMore{static_cast<std::size_t>(std::min<std::uint64_t>(skip_, 1 << 16))};
  const std::span<const std::uint8_t> rest(in_.data() + start_, in_.size() - start_);
  auto scanned = scan_frame(rest, limits_);
  if (auto* frame = std::get_if<Frame>(&scanned)) {
    start_ += frame->length;
    return *frame;
  }
  if (auto* more = std::get_if<NeedMore>(&scanned)) return *more;
  Error error = std::get<Error>(std::move(scanned));
  if (error.code == errc::too_large) {
    // scan_frame judged a complete header: read it again to skip its payload.
    const auto [h, extended, head] = std::get<HeaderAt>(read_header(rest));
    if (h.payload_size % payload_alignment == 0) {
      const std::uint64_t total = head + std::uint64_t{h.payload_size};
      const std::size_t here = static_cast<std::size_t>(std::min<std::uint64_t>(total, rest.size()));
      start_ += here;
      skip_ = total - here;
      refused_bytes_ += total;
      error.detail += "; its payload is skipped, the circuit goes on";
      return Refused{h, std::move(error)};
    }
  }
  broken_ = true;
  why_broken_ = error;
  return Broken{std::move(error)};
}

}  // namespace weft::ca

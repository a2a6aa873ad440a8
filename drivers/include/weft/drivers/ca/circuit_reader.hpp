// A client circuit's byte stream cut into messages (channel-access.md §2,
// pitfall 9): bytes go in as they arrive, whole messages come out, and a
// message whose payload is above the limits (max_array_bytes plus the
// metadata room) is refused *without being buffered*: its header is reported
// once and its payload skipped as it streams past, so the circuit stays in
// step and usable (libca: "payload size > EPICS_CA_MAX_ARRAY_BYTES
// ignored"; ca-gateway's crash and 100 % CPU on oversized arrays). Only a
// payload size that is not a multiple of 8 loses the stream (Broken: close
// the circuit, as libca does). Memory held: at most one message within the
// limits plus what one feed() brought. Pure: no sockets, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "weft/drivers/ca/errors.hpp"
#include "weft/drivers/ca/framing.hpp"

namespace weft::ca {

// An oversized message: its header, and why. Its payload is being skipped.
struct Refused {
  Header header;
  Error error;
};
// The stream cannot be followed any more; nothing else will come out.
struct Broken {
  Error error;
};

class CircuitReader {
public:
  explicit CircuitReader(const Limits& limits) : limits_(limits) {}

  // Appends received bytes (the part an ongoing skip eats is dropped at once).
  void feed(std::span<const std::uint8_t> bytes);

  // The next message: a Frame (its spans are valid until the next feed() or
  // next()), a Refused, NeedMore (feed more bytes), or Broken (for good).
  // Call it until NeedMore before feeding more, which bounds the buffer.
  std::variant<NeedMore, Frame, Refused, Broken> next();

  std::size_t buffered() const noexcept { return in_.size() - start_; }
  std::uint64_t skipping() const noexcept { return skip_; }  // payload bytes still to drop
  std::uint64_t refused_bytes() const noexcept { return refused_bytes_; }

private:
  Limits limits_;
  std::vector<std::uint8_t> in_;
  std::size_t start_ = 0;    // first byte of in_ not yet handed out
  std::uint64_t skip_ = 0;
  std::uint64_t refused_bytes_ = 0;
  bool broken_ = false;
  Error why_broken_;
};

}  // namespace weft::ca

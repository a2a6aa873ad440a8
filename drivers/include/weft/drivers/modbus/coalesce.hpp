// Groups the address ranges of one instrument's points (all of one function
// code) into as few reads as a greedy pass in address order finds, each at most
// max_registers_per_request long, tolerating unread gaps of up to max_gap. The
// result depends only on the input: reads ascend by start address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace weft::modbus {

struct AddressRange {
  std::uint16_t start = 0;
  std::uint16_t count = 0;

  friend bool operator==(const AddressRange&, const AddressRange&) = default;
};

struct CoalesceOptions {
  // Registers (or bits, for coils): 125 suits functions 3/4; at most 2000 (functions 1/2).
  std::uint16_t max_registers_per_request = 125;
  // Addresses between two points that may be read and discarded; 0 reads only
  // what points cover (some devices reject reads of unmapped addresses).
  std::uint16_t max_gap = 0;
};

struct Placement {
  std::size_t read = 0;       // index into ReadPlan::reads
  std::uint16_t offset = 0;   // the point's first address, relative to the read's start

  friend bool operator==(const Placement&, const Placement&) = default;
};

struct ReadPlan {
  std::vector<AddressRange> reads;
  std::vector<Placement> placements;  // one per input point, in input order
};

// Throws std::invalid_argument for an empty or out-of-range point (count 0,
// past address 65535), a point wider than the cap, or a cap outside 1..2000.
ReadPlan coalesce(std::span<const AddressRange> points, const CoalesceOptions& options = {});

}  // namespace weft::modbus

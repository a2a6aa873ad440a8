// Coalescing: points sorted by (start, input index) are swept once; a point
// joins the current read when the hole before it is at most max_gap and the
// read, extended to cover it, stays within the cap; otherwise it opens a new
// read. Overlapping points share registers. Addresses are 32-bit internally.
#include "weft/drivers/modbus/coalesce.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace weft::modbus {
namespace {

constexpr std::uint32_t address_space = 0x10000;
constexpr std::uint16_t largest_read = 2000;  // read coils / discrete inputs

std::uint32_t end_of(const AddressRange& range) { return std::uint32_t{range.start} + range.count; }

void check(std::span<const AddressRange> points, const CoalesceOptions& options) {
  const std::uint16_t cap = options.max_registers_per_request;
  if (cap < 1 || cap > largest_read) {
    throw std::invalid_argument("modbus coalesce: max_registers_per_request " + std::to_string(cap) +
                                " out of range 1.." + std::to_string(largest_read));
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    const AddressRange& point = points[i];
    const std::string name = "modbus coalesce: point " + std::to_string(i) + " (start " +
                             std::to_string(point.start) + ", count " + std::to_string(point.count) + ")";
    if (point.count == 0) {
      throw std::invalid_argument(name + " is empty");
    }
    if (end_of(point) > address_space) {
      throw std::invalid_argument(name + " runs past address 65535");
    }
    if (point.count > cap) {
      throw std::invalid_argument(name + " is wider than " + std::to_string(cap) + " per request");
    }
  }
}

}  // namespace

ReadPlan coalesce(std::span<const AddressRange> points, const CoalesceOptions& options) {
  check(points, options);

  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return points[a].start < points[b].start; });

  ReadPlan plan;
  plan.placements.resize(points.size());
  std::uint32_t read_start = 0;
  std::uint32_t read_end = 0;
  for (const std::size_t index : order) {
    const AddressRange& point = points[index];
    const std::uint32_t end = std::max(read_end, end_of(point));
    const bool joins = !plan.reads.empty() && point.start <= read_end + options.max_gap &&
                       end - read_start <= options.max_registers_per_request;
    if (joins) {
      read_end = end;
    } else {
      read_start = point.start;
      read_end = end_of(point);
      plan.reads.push_back({});
    }
    plan.reads.back() = {static_cast<std::uint16_t>(read_start),
                         static_cast<std::uint16_t>(read_end - read_start)};
    plan.placements[index] = {plan.reads.size() - 1, static_cast<std::uint16_t>(point.start - read_start)};
  }
  return plan;
}

}  // namespace weft::modbus

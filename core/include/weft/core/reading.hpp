// A reading: one value of one point at one instant, as the bus carries it.
// Timestamps: monotonic ns (orders readings, immune to clock setting), the
// boot id (monotonic time restarts at each boot) and wall ns (a label that
// may be wrong on a box without RTC; corrected later from clock events).
// The bus also numbers each reading it carries (seq): its place in the one
// publish order every subscriber sees, unique even where two readings share
// an instant (the virtual clock stands still while the loop is busy).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace weft {

enum class Quality : std::uint8_t { good, stale, comm_error };
std::string_view to_string(Quality q) noexcept;

// An array of numbers (an array soft point's value): immutable once made,
// its elements shared by every copy, so a Reading copied into each bus
// subscriber's queue costs a reference count, not a copy of the elements;
// 24 bytes, no bigger than the std::string beside it in Value. Compares by
// its elements (as double ==: an array holding NaN is not equal to itself).
class NumberArray {
public:
  NumberArray() = default;  // empty
  explicit NumberArray(std::span<const double> values);
  std::span<const double> values() const noexcept { return {data_.get(), size_}; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  friend bool operator==(const NumberArray& a, const NumberArray& b) noexcept;

private:
  std::shared_ptr<const double[]> data_;
  std::size_t size_ = 0;
};

using Value = std::variant<double, std::int64_t, bool, std::string, NumberArray>;
// Scalars in full; an array as "[1.5, 2, 3]", its first 8 elements and then
// "... (N elements)" when longer, so a log or table line stays short.
std::string to_string(const Value& v);

// An array as compact JSON, every finite element in its shortest text that
// reads back exactly ("[1.5,2,-0.25]"); NaN is null, and an infinity
// 9e999 / -9e999 when keep_infinities (valid JSON that parsers read as an
// infinity: the store keeps it exact), else null (the upload, like its scalars).
std::string number_array_json(std::span<const double> values, bool keep_infinities);
// That text read back: null is NaN, a number beyond a double's range an
// infinity; nullopt for anything else (not a flat JSON array of numbers).
std::optional<NumberArray> parse_number_array_json(std::string_view text);

// /proc/sys/kernel/random/boot_id, as 16 bytes.
struct BootId {
  std::array<std::uint8_t, 16> bytes{};
  static BootId current();  // read once per process, then cached
  static BootId parse(std::string_view uuid);  // all-zero if malformed
  std::string to_string() const;
  friend bool operator==(const BootId&, const BootId&) = default;
};

struct Reading {
  std::string point;
  Value value;
  Quality quality = Quality::good;
  std::int64_t mono_ns = 0;
  BootId boot;
  std::int64_t wall_ns = 0;
  // Set by Bus::publish (whatever the publisher put here): the bus's count of
  // publishes, this one included (1, 2, ...), so a later reading always has a
  // greater one. 0: never published (a reading built by hand, or read back
  // from the store, which does not keep it).
  std::uint64_t seq = 0;
};

}  // namespace weft

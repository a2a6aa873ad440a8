// Register decoding: the registers are first put back into canonical big-endian
// order (undoing the word reversal and byte swap that the WordOrder names), then
// the bits are read as the type. Encoding applies the same two steps in reverse.
#include "weft/drivers/modbus/registers.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace weft::modbus {
namespace {

bool words_reversed(WordOrder order) { return order == WordOrder::cdab || order == WordOrder::dcba; }
bool bytes_swapped(WordOrder order) { return order == WordOrder::badc || order == WordOrder::dcba; }

std::uint16_t swap_bytes(std::uint16_t word) { return static_cast<std::uint16_t>((word << 8) | (word >> 8)); }

// Position on the wire of the i-th most significant word, and that word as sent.
std::size_t wire_index(std::size_t i, std::size_t words, WordOrder order) {
  return words_reversed(order) ? words - 1 - i : i;
}
std::uint16_t as_sent(std::uint16_t word, WordOrder order) {
  return bytes_swapped(order) ? swap_bytes(word) : word;
}

std::uint64_t canonical_bits(std::span<const std::uint16_t> registers, std::size_t words, WordOrder order) {
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < words; ++i) {
    bits = (bits << 16) | as_sent(registers[wire_index(i, words, order)], order);
  }
  return bits;
}

double interpret(std::uint64_t bits, RegisterType type) {
  switch (type) {
    case RegisterType::int16: return static_cast<std::int16_t>(static_cast<std::uint16_t>(bits));
    case RegisterType::uint16: return static_cast<std::uint16_t>(bits);
    case RegisterType::int32: return static_cast<std::int32_t>(static_cast<std::uint32_t>(bits));
    case RegisterType::uint32: return static_cast<std::uint32_t>(bits);
    case RegisterType::float32: return std::bit_cast<float>(static_cast<std::uint32_t>(bits));
    case RegisterType::int64: return static_cast<double>(static_cast<std::int64_t>(bits));
    case RegisterType::uint64: return static_cast<double>(bits);
    case RegisterType::float64: return std::bit_cast<double>(bits);
  }
  return 0.0;
}

[[noreturn]] void reject_value(double value, RegisterType type) {
  throw std::invalid_argument("modbus encode " + std::string(to_string(type)) + ": " +
                              std::to_string(value) + " is not an integer in range");
}

template <typename Integer>
std::uint64_t integer_bits(double value, RegisterType type) {
  // The upper limit is exclusive: max() + 1 is a power of two, exact as a double.
  const double past_max = static_cast<double>(std::numeric_limits<Integer>::max() / 2 + 1) * 2.0;
  if (!(value == std::trunc(value) && value >= static_cast<double>(std::numeric_limits<Integer>::min()) &&
        value < past_max)) {
    reject_value(value, type);
  }
  return static_cast<std::uint64_t>(static_cast<Integer>(value));
}

std::uint64_t bits_of(double value, RegisterType type) {
  switch (type) {
    case RegisterType::int16: return integer_bits<std::int16_t>(value, type) & 0xFFFFu;
    case RegisterType::uint16: return integer_bits<std::uint16_t>(value, type);
    case RegisterType::int32: return integer_bits<std::int32_t>(value, type) & 0xFFFF'FFFFu;
    case RegisterType::uint32: return integer_bits<std::uint32_t>(value, type);
    case RegisterType::float32: return std::bit_cast<std::uint32_t>(static_cast<float>(value));
    case RegisterType::int64: return integer_bits<std::int64_t>(value, type);
    case RegisterType::uint64: return integer_bits<std::uint64_t>(value, type);
    case RegisterType::float64: return std::bit_cast<std::uint64_t>(value);
  }
  return 0;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

constexpr RegisterType all_types[] = {RegisterType::int16,   RegisterType::uint16, RegisterType::int32,
                                      RegisterType::uint32,  RegisterType::float32, RegisterType::int64,
                                      RegisterType::uint64,  RegisterType::float64};
constexpr WordOrder all_orders[] = {WordOrder::abcd, WordOrder::cdab, WordOrder::badc, WordOrder::dcba};

}  // namespace

std::size_t register_count(RegisterType type) noexcept {
  switch (type) {
    case RegisterType::int16:
    case RegisterType::uint16: return 1;
    case RegisterType::int32:
    case RegisterType::uint32:
    case RegisterType::float32: return 2;
    case RegisterType::int64:
    case RegisterType::uint64:
    case RegisterType::float64: return 4;
  }
  return 1;
}

double decode(std::span<const std::uint16_t> registers, RegisterType type, WordOrder order, double scale,
              double offset) {
  const std::size_t words = register_count(type);
  if (registers.size() < words) {
    throw std::invalid_argument("modbus decode " + std::string(to_string(type)) + ": needs " +
                                std::to_string(words) + " registers, got " +
                                std::to_string(registers.size()));
  }
  return interpret(canonical_bits(registers, words, order), type) * scale + offset;
}

std::vector<std::uint16_t> encode(double value, RegisterType type, WordOrder order) {
  const std::size_t words = register_count(type);
  const std::uint64_t bits = bits_of(value, type);
  std::vector<std::uint16_t> registers(words);
  for (std::size_t i = 0; i < words; ++i) {
    const auto word = static_cast<std::uint16_t>(bits >> (16 * (words - 1 - i)));
    registers[wire_index(i, words, order)] = as_sent(word, order);
  }
  return registers;
}

std::string_view to_string(RegisterType type) noexcept {
  switch (type) {
    case RegisterType::int16: return "int16";
    case RegisterType::uint16: return "uint16";
    case RegisterType::int32: return "int32";
    case RegisterType::uint32: return "uint32";
    case RegisterType::float32: return "float32";
    case RegisterType::int64: return "int64";
    case RegisterType::uint64: return "uint64";
    case RegisterType::float64: return "float64";
  }
  return "unknown";
}

std::string_view to_string(WordOrder order) noexcept {
  switch (order) {
    case WordOrder::abcd: return "abcd";
    case WordOrder::cdab: return "cdab";
    case WordOrder::badc: return "badc";
    case WordOrder::dcba: return "dcba";
  }
  return "unknown";
}

std::optional<RegisterType> parse_register_type(std::string_view text) {
  for (const RegisterType type : all_types) {
    if (text == to_string(type)) {
      return type;
    }
  }
  return std::nullopt;
}

std::optional<WordOrder> parse_word_order(std::string_view text) {
  for (const WordOrder order : all_orders) {
    if (equals_ignoring_case(text, to_string(order))) {
      return order;
    }
  }
  return std::nullopt;
}

}  // namespace weft::modbus

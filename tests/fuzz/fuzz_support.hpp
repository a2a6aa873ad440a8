// Shared by the libFuzzer targets in tests/fuzz: FUZZ_CHECK (an invariant
// that must hold for every input; a violation aborts, so libFuzzer keeps the
// input as a crash artifact and prints the stack), and FuzzBytes, which
// takes typed values off the front of the input and never reads past it
// (missing bytes read as zero).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#define FUZZ_CHECK(condition, ...)                                                           \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #condition); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                                \
      std::fprintf(stderr, "\n");                                                            \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace weft::fuzz {

class FuzzBytes {
public:
  FuzzBytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  bool flag() { return (u8() & 1u) != 0; }
  // A value in [0, n) (n > 0).
  std::size_t below(std::size_t n) { return u16() % n; }
  // Up to `max` bytes (the count is one byte of the input), or what is left.
  std::string_view text(std::size_t max) {
    const std::size_t want = std::min<std::size_t>(u8(), max);
    const std::size_t take = std::min(want, size_ - at_);
    std::string_view out(reinterpret_cast<const char*>(data_ + at_), take);
    at_ += take;
    return out;
  }
  std::span<const std::uint8_t> rest() const { return {data_ + at_, size_ - at_}; }
  std::string_view rest_text() const { return {reinterpret_cast<const char*>(data_ + at_), size_ - at_}; }
  bool empty() const { return at_ >= size_; }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace weft::fuzz

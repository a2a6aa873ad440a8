// Big-endian loads and stores over byte spans for the CA codec (private to
// drivers/src/ca). Loads take an offset the caller has already bounds-checked;
// floats travel as the bit patterns of same-sized integers (pitfall 16).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace weft::ca::wire {

inline std::uint16_t load16(std::span<const std::uint8_t> b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
inline std::uint32_t load32(std::span<const std::uint8_t> b, std::size_t at) noexcept {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) |
         std::uint32_t{b[at + 3]};
}
inline std::uint64_t load64(std::span<const std::uint8_t> b, std::size_t at) noexcept {
  return (std::uint64_t{load32(b, at)} << 32) | load32(b, at + 4);
}
inline float load_f32(std::span<const std::uint8_t> b, std::size_t at) noexcept {
  return std::bit_cast<float>(load32(b, at));
}
inline double load_f64(std::span<const std::uint8_t> b, std::size_t at) noexcept {
  return std::bit_cast<double>(load64(b, at));
}

inline void store16(std::span<std::uint8_t> b, std::size_t at, std::uint16_t v) noexcept {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
inline void store32(std::span<std::uint8_t> b, std::size_t at, std::uint32_t v) noexcept {
  b[at] = static_cast<std::uint8_t>(v >> 24);
  b[at + 1] = static_cast<std::uint8_t>(v >> 16);
  b[at + 2] = static_cast<std::uint8_t>(v >> 8);
  b[at + 3] = static_cast<std::uint8_t>(v);
}
inline void store64(std::span<std::uint8_t> b, std::size_t at, std::uint64_t v) noexcept {
  store32(b, at, static_cast<std::uint32_t>(v >> 32));
  store32(b, at + 4, static_cast<std::uint32_t>(v));
}
inline void store_f32(std::span<std::uint8_t> b, std::size_t at, float v) noexcept {
  store32(b, at, std::bit_cast<std::uint32_t>(v));
}
inline void store_f64(std::span<std::uint8_t> b, std::size_t at, double v) noexcept {
  store64(b, at, std::bit_cast<std::uint64_t>(v));
}

}  // namespace weft::ca::wire

// Sizes in config files: a byte count (1048576) or a number with a unit
// (64MiB, 500kB, 1GB; binary and decimal units). One reader for every key
// that takes a size, so they all accept and refuse the same spellings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/core/config.hpp"

namespace weft::apps {

std::optional<std::uint64_t> parse_size(const std::string& text);

// `key` of `s`, or `fallback` when absent; a bad size fails at the key.
std::uint64_t read_size(const ConfigSection& s, std::string_view key, std::uint64_t fallback);

}  // namespace weft::apps

// The top-level [store] table: where the SQLite store lives and how it
// batches, retries and prunes. Every bad value is a ConfigError at its
// file:line; an unknown key is an error.
#pragma once

#include <optional>

#include "weft/core/config.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft::apps {

// nullopt when the config has no [store] table.
std::optional<store::StoreOptions> read_store_config(const ConfigSection& root);

}  // namespace weft::apps

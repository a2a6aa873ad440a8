// [store] keys that were code options only: ballast_bytes (the room kept
// for a full file system) and background_check (quick_check after each
// open). Read into StoreOptions with their defaults; a bad value is an
// error at its file:line naming the key and what to write.
#include "weft/apps/assembly/store_config.hpp"

#include <catch2/catch.hpp>

using namespace weft;

namespace {

std::optional<store::StoreOptions> store_keys_read(const std::string& keys) {
  return apps::read_store_config(Config::parse("[store]\npath = \"/tmp/x.db\"\n" + keys + "\n", "box.toml").root());
}

std::string store_keys_error(const std::string& keys) {
  try {
    store_keys_read(keys);
  } catch (const ConfigError& e) {
    return e.what();
  }
  FAIL("no ConfigError for: " << keys);
  return {};
}

}  // namespace

TEST_CASE("store config: ballast_bytes and background_check are keys, with the code's defaults", "[store][config]") {
  const auto defaults = store_keys_read("");
  REQUIRE(defaults);
  CHECK(defaults->ballast_bytes == 4u << 20);
  CHECK(defaults->background_check);

  const auto set = store_keys_read("ballast_bytes = \"16MiB\"\nbackground_check = false");
  REQUIRE(set);
  CHECK(set->ballast_bytes == 16u << 20);
  CHECK_FALSE(set->background_check);
  CHECK(store_keys_read("ballast_bytes = 0")->ballast_bytes == 0);  // no ballast
  CHECK(store_keys_read("ballast_bytes = 2097152")->ballast_bytes == 2u << 20);
}

TEST_CASE("store config: a bad ballast_bytes or background_check is refused at its file:line", "[store][config]") {
  const std::string small = store_keys_error("ballast_bytes = \"64KiB\"");
  CHECK_THAT(small, Catch::StartsWith("box.toml:3:") && Catch::Contains("store.ballast_bytes") &&
                        Catch::Contains("from 1MiB to 1GiB"));
  CHECK_THAT(store_keys_error("ballast_bytes = \"2GiB\""),
             Catch::StartsWith("box.toml:3:") && Catch::Contains("store.ballast_bytes"));
  CHECK_THAT(store_keys_error("ballast_bytes = \"lots\""),
             Catch::StartsWith("box.toml:3:") && Catch::Contains("is not a size"));
  CHECK_THAT(store_keys_error("background_check = \"yes\""),
             Catch::StartsWith("box.toml:3:") && Catch::Contains("store.background_check"));
}

// The on-demand libmosquitto loader (drivers/src/mqtt/mosquitto_library.*):
// the real library resolves every function weft calls and is 2.0 or later;
// a missing library and one that is not libmosquitto are refused with what
// to install; a failed load is tried again (installed after the failure,
// it is loaded at the next attempt). That the box loads it only at the first connect is
// integration/mqtt_on_demand.sh.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <variant>

#include "../../drivers/src/mqtt/mosquitto_library.hpp"
#include "weft/drivers/mqtt/errors.hpp"

using weft::mqtt::MosquittoLibrary;

TEST_CASE("mqtt library: Debian's libmosquitto resolves every function weft calls", "[mqtt]") {
  auto loaded = weft::mqtt::load_mosquitto_library(weft::mqtt::kMosquittoSoname);
  const auto* error = std::get_if<std::string>(&loaded);
  INFO((error != nullptr ? *error : std::string()));
  REQUIRE(error == nullptr);
  const MosquittoLibrary& lib = std::get<MosquittoLibrary>(loaded);
#define WEFT_CHECK_RESOLVED(member, symbol) CHECK(lib.member != nullptr);
  WEFT_MOSQUITTO_FUNCTIONS(WEFT_CHECK_RESOLVED)
#undef WEFT_CHECK_RESOLVED
  int major = 0, minor = 0, revision = 0;
  lib.lib_version(&major, &minor, &revision);
  CHECK(major >= weft::mqtt::kMosquittoMinMajor);
}

TEST_CASE("mqtt library: a missing library is refused with what to install", "[mqtt]") {
  auto loaded = weft::mqtt::load_mosquitto_library("libmosquitto-not-here.so.1");
  REQUIRE(std::holds_alternative<std::string>(loaded));
  const std::string& error = std::get<std::string>(loaded);
  CHECK_THAT(error, Catch::Contains("cannot load libmosquitto-not-here.so.1"));
  CHECK_THAT(error, Catch::Contains("apt-get install libmosquitto1"));
}

TEST_CASE("mqtt library: a library that is not libmosquitto is refused, naming what it lacks", "[mqtt]") {
  auto loaded = weft::mqtt::load_mosquitto_library("libm.so.6");
  REQUIRE(std::holds_alternative<std::string>(loaded));
  const std::string& error = std::get<std::string>(loaded);
  CHECK_THAT(error, Catch::Contains("libm.so.6 lacks mosquitto_lib_init"));
  CHECK_THAT(error, Catch::Contains("mosquitto_connack_string"));
  CHECK_THAT(error, Catch::Contains("install Debian's libmosquitto1"));
}

namespace {

// Where the real library is: dladdr of one of its functions.
std::string real_library_path() {
  auto loaded = weft::mqtt::load_mosquitto_library(weft::mqtt::kMosquittoSoname);
  REQUIRE(std::holds_alternative<MosquittoLibrary>(loaded));
  Dl_info info{};
  REQUIRE(::dladdr(reinterpret_cast<void*>(std::get<MosquittoLibrary>(loaded).lib_init), &info) != 0);
  REQUIRE(info.dli_fname != nullptr);
  return std::filesystem::canonical(info.dli_fname).string();
}

}  // namespace

TEST_CASE("mqtt library: a load that failed is tried again and succeeds once the library is there", "[mqtt]") {
  std::string dir_template = (std::filesystem::temp_directory_path() / "weft-mqtt-lib-XXXXXX").string();
  REQUIRE(::mkdtemp(dir_template.data()) != nullptr);
  const std::filesystem::path dir = dir_template;
  const std::filesystem::path path = dir / "libmosquitto.so.1";
  weft::mqtt::MosquittoLoader loader(path.string());

  std::string error;
  CHECK(loader.get(error) == nullptr);
  CHECK_THAT(error, Catch::Contains("cannot load " + path.string()));
  CHECK_THAT(error, Catch::Contains("the next connect attempt loads it"));
  CHECK(loader.if_loaded() == nullptr);

  // Installed after the failure (apt-get install libmosquitto1, no restart).
  std::filesystem::create_symlink(real_library_path(), path);
  error.clear();
  const MosquittoLibrary* lib = loader.get(error);
  INFO(error);
  REQUIRE(lib != nullptr);
  CHECK(error.empty());
  CHECK(loader.if_loaded() == lib);
  int major = 0, minor = 0, revision = 0;
  lib->lib_version(&major, &minor, &revision);
  CHECK(major >= weft::mqtt::kMosquittoMinMajor);
  CHECK(loader.get(error) == lib);  // loaded once, the same table after

  std::filesystem::remove_all(dir);
}

TEST_CASE("mqtt errors: nothing loads the library before a connect, and the texts are then the numbers", "[mqtt]") {
  // Nothing in the process has connected: the library must not be loaded.
  REQUIRE(weft::mqtt::mosquitto_library_if_loaded() == nullptr);
  CHECK(weft::mqtt::describe_mosquitto_error(MOSQ_ERR_NO_CONN, 0) == "libmosquitto error 4");
  CHECK(weft::mqtt::describe_connack(5) == "CONNACK code 5");
}

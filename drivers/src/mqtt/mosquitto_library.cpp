// Loads libmosquitto with dlopen (mosquitto_library.hpp). RTLD_LOCAL: its
// symbols (and OpenSSL's) are reached only through the table, never bound
// by name from another library.
#include "mosquitto_library.hpp"

#include "weft/drivers/mqtt/library.hpp"

#include <atomic>
#include <mutex>

#include <dlfcn.h>

namespace weft::mqtt {
namespace {

std::string install_hint() {
  return "; the MQTT client (upload, remote config over MQTT) needs it: install Debian's libmosquitto1 "
         "(apt-get install libmosquitto1), or remove the MQTT settings from the config";
}

std::string dl_error_text() {
  const char* e = ::dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}

}  // namespace

std::variant<MosquittoLibrary, std::string> load_mosquitto_library(const char* soname) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return "cannot load " + std::string(soname) + ": " + dl_error_text() + install_hint();
  MosquittoLibrary lib;
  std::string missing;
#define WEFT_MOSQUITTO_RESOLVE(member, symbol)                                      \
  lib.member = reinterpret_cast<decltype(&::symbol)>(::dlsym(handle, #symbol));     \
  if (lib.member == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(#symbol);
  WEFT_MOSQUITTO_FUNCTIONS(WEFT_MOSQUITTO_RESOLVE)
#undef WEFT_MOSQUITTO_RESOLVE
  if (!missing.empty()) {
    ::dlclose(handle);
    return std::string(soname) + " lacks " + missing + ": it is not libmosquitto " +
           std::to_string(kMosquittoMinMajor) + " or later" + install_hint();
  }
  int major = 0, minor = 0, revision = 0;
  lib.lib_version(&major, &minor, &revision);
  if (major < kMosquittoMinMajor) {
    ::dlclose(handle);
    return std::string(soname) + " is libmosquitto " + std::to_string(major) + "." + std::to_string(minor) + "." +
           std::to_string(revision) + ", weft needs " + std::to_string(kMosquittoMinMajor) + ".0 or later" +
           install_hint();
  }
  return lib;  // the handle is never closed: the table points into it for the process's life
}

namespace {

struct Loaded {
  std::once_flag once;
  MosquittoLibrary lib;
  std::string error;
  std::atomic<bool> ready{false};
};

Loaded& loaded() {
  static Loaded instance;
  return instance;
}

}  // namespace

const MosquittoLibrary* mosquitto_library(std::string& error) {
  Loaded& l = loaded();
  std::call_once(l.once, [&l] {
    auto result = load_mosquitto_library(kMosquittoSoname);
    if (auto* text = std::get_if<std::string>(&result)) {
      l.error = std::move(*text);
      return;
    }
    l.lib = std::get<MosquittoLibrary>(result);
    l.lib.lib_init();
    l.ready.store(true, std::memory_order_release);
  });
  if (l.ready.load(std::memory_order_acquire)) return &l.lib;
  error = l.error;
  return nullptr;
}

const MosquittoLibrary* mosquitto_library_if_loaded() noexcept {
  Loaded& l = loaded();
  return l.ready.load(std::memory_order_acquire) ? &l.lib : nullptr;
}

bool preload_mqtt_library(std::string& error) { return mosquitto_library(error) != nullptr; }

}  // namespace weft::mqtt

// Loads libmosquitto with dlopen (mosquitto_library.hpp). RTLD_LOCAL: its
// symbols (and OpenSSL's) are reached only through the table, never bound
// by name from another library.
#include "mosquitto_library.hpp"

#include "weft/drivers/mqtt/library.hpp"

#include <dlfcn.h>

namespace weft::mqtt {
namespace {

std::string install_hint() {
  return "; the MQTT client (upload, remote config over MQTT) needs it: install Debian's libmosquitto1 "
         "(apt-get install libmosquitto1; the next connect attempt loads it), or remove the MQTT settings from "
         "the config";
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

const MosquittoLibrary* MosquittoLoader::get(std::string& error) {
  if (const MosquittoLibrary* lib = if_loaded()) return lib;
  const std::lock_guard lock(mutex_);
  if (const MosquittoLibrary* lib = if_loaded()) return lib;  // loaded while this one waited
  auto result = load_mosquitto_library(soname_.c_str());
  if (auto* text = std::get_if<std::string>(&result)) {
    error = std::move(*text);
    return nullptr;
  }
  lib_ = std::get<MosquittoLibrary>(result);
  lib_.lib_init();
  ready_.store(true, std::memory_order_release);
  return &lib_;
}

namespace {

MosquittoLoader& process_loader() {
  static MosquittoLoader instance(kMosquittoSoname);
  return instance;
}

}  // namespace

const MosquittoLibrary* mosquitto_library(std::string& error) { return process_loader().get(error); }

const MosquittoLibrary* mosquitto_library_if_loaded() noexcept { return process_loader().if_loaded(); }

bool preload_mqtt_library(std::string& error) { return mosquitto_library(error) != nullptr; }

}  // namespace weft::mqtt

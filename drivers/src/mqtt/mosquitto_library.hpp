// libmosquitto, loaded at run time on the first MQTT connect instead of
// linked: a box with no upload and no MQTT config source never maps it,
// nor the OpenSSL it pulls in (libssl + libcrypto: 1.7 MiB of the demo box's
// RSS and their relocations at every start). The functions weft calls are
// resolved once, all or nothing, so a call through the table cannot land in
// a half-loaded library. Thread-safe (the first load runs on the blocking
// pool: dlopen reads files); the table lives for the process. A failed
// load is tried again at the next connect.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <variant>

#include <mosquitto.h>

namespace weft::mqtt {

// Every libmosquitto function weft calls; X(member, symbol).
#define WEFT_MOSQUITTO_FUNCTIONS(X)                                         \
  X(lib_init, mosquitto_lib_init)                                           \
  X(lib_version, mosquitto_lib_version)                                     \
  X(create, mosquitto_new)                                                  \
  X(destroy, mosquitto_destroy)                                             \
  X(connect_callback_set, mosquitto_connect_callback_set)                   \
  X(disconnect_callback_set, mosquitto_disconnect_callback_set)             \
  X(publish_callback_set, mosquitto_publish_callback_set)                   \
  X(subscribe_callback_set, mosquitto_subscribe_callback_set)               \
  X(message_callback_set, mosquitto_message_callback_set)                   \
  X(int_option, mosquitto_int_option)                                       \
  X(max_inflight_messages_set, mosquitto_max_inflight_messages_set)         \
  X(username_pw_set, mosquitto_username_pw_set)                             \
  X(tls_set, mosquitto_tls_set)                                             \
  X(connect_async, mosquitto_connect_async)                                 \
  X(socket, mosquitto_socket)                                               \
  X(want_write, mosquitto_want_write)                                       \
  X(loop_read, mosquitto_loop_read)                                         \
  X(loop_write, mosquitto_loop_write)                                       \
  X(loop_misc, mosquitto_loop_misc)                                         \
  X(publish, mosquitto_publish)                                             \
  X(subscribe, mosquitto_subscribe)                                         \
  X(strerror, mosquitto_strerror)                                           \
  X(connack_string, mosquitto_connack_string)

struct MosquittoLibrary {
#define WEFT_MOSQUITTO_MEMBER(member, symbol) decltype(&::symbol) member = nullptr;
  WEFT_MOSQUITTO_FUNCTIONS(WEFT_MOSQUITTO_MEMBER)
#undef WEFT_MOSQUITTO_MEMBER
};

// The library weftd uses (its SONAME, from libmosquitto1).
inline constexpr const char* kMosquittoSoname = "libmosquitto.so.1";
// The oldest libmosquitto whose behaviour client.hpp relies on.
inline constexpr int kMosquittoMinMajor = 2;

// Loads `soname` and resolves every function, or says what is missing and
// what to do. Does not call lib_init. Each call is a fresh dlopen (tests).
std::variant<MosquittoLibrary, std::string> load_mosquitto_library(const char* soname);

// One library, loaded and initialised (lib_init) by the first get() that
// finds it; a get() that does not (missing, not libmosquitto, too old)
// leaves nothing loaded and the next get() tries again, so a box whose
// libmosquitto1 is installed or upgraded after the failure connects at its
// next attempt, without a restart. get() may block on file I/O (the pool);
// calls from several threads at once load it once. if_loaded() never blocks.
class MosquittoLoader {
public:
  explicit MosquittoLoader(std::string soname) : soname_(std::move(soname)) {}
  MosquittoLoader(const MosquittoLoader&) = delete;
  MosquittoLoader& operator=(const MosquittoLoader&) = delete;

  // nullptr if it cannot be loaded now: `error` says why and what to do.
  const MosquittoLibrary* get(std::string& error);
  const MosquittoLibrary* if_loaded() const noexcept {
    return ready_.load(std::memory_order_acquire) ? &lib_ : nullptr;
  }

private:
  const std::string soname_;
  std::mutex mutex_;  // one load at a time
  MosquittoLibrary lib_;  // written once, under mutex_, before ready_
  std::atomic<bool> ready_{false};
};

// The process's libmosquitto (kMosquittoSoname, a MosquittoLoader).
const MosquittoLibrary* mosquitto_library(std::string& error);

// The library if mosquitto_library() has loaded it, else nullptr. Never blocks.
const MosquittoLibrary* mosquitto_library_if_loaded() noexcept;

}  // namespace weft::mqtt

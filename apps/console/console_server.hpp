// The console server: a Unix stream socket (mode 0600, or 0660 with a
// configured group) served on the loop, one coroutine per client owned by
// a connection table (TaskGroup). Peers are checked by SO_PEERCRED: root,
// the owner of weftd, or a member of the configured group; anyone else gets
// one refusal frame and is logged. A client's output is bounded: a client
// that stops reading is dropped when its buffer is full (counted, logged);
// one idle longer than idle_timeout is closed. Protocol: console_protocol.hpp.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"

namespace weft {
class Context;
class ConfigSection;
}  // namespace weft

namespace weft::apps {

struct ConsoleSettings {
  std::string socket;                       // path of the Unix socket
  std::optional<gid_t> group;               // members may connect too
  std::string group_name;                   // for messages
  Duration idle_timeout = std::chrono::minutes(10);  // real time, also bounds a stalled write
  std::size_t max_clients = 128;
  std::size_t output_buffer = 256 * 1024;   // bytes queued per client before it is dropped
};

// $RUNTIME_DIRECTORY/weftd.sock (systemd's RuntimeDirectory=), else /run/weft/weftd.sock.
std::string default_console_socket();
// Reads [service.console]; throws ConfigError (unknown group, path too long...).
ConsoleSettings read_console_settings(const ConfigSection& section);

struct ConsoleCounters {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;       // peers that are not root, the owner or in the group
  std::uint64_t too_many = 0;      // turned away at max_clients
  std::uint64_t dropped_slow = 0;  // output buffer full: the client stopped reading
  std::uint64_t idle_closed = 0;
  std::uint64_t requests = 0;
  std::size_t clients = 0;         // connected now
};

// Creates the socket (a stale one, that no process answers on, is
// replaced; a live one is an error naming the path), calls ctx.ready(),
// serves until cancelled, then removes the socket. Not cancel-safe in the
// sense of resumable: cancellation ends the console (its clients first).
boost::asio::awaitable<void> serve_console(Context& ctx, const ConsoleSettings& settings, ConsoleCounters& counters);

}  // namespace weft::apps

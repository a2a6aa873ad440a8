// [service.console] keys:
//   socket = "/run/weft/weftd.sock"  # default: $RUNTIME_DIRECTORY/weftd.sock, else /run/weft/weftd.sock
//   group = "weft"                   # members may connect too (the socket becomes 0660, that group)
//   idle_timeout = "10m"             # a client silent this long is closed
//   max_clients = 128                # further clients are turned away with a message
//   output_buffer = 262144           # bytes queued per client; a client that stops reading is dropped
#include <grp.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "console_server.hpp"
#include "weft/core/config.hpp"

namespace weft::apps {

std::string default_console_socket() {
  // systemd's RuntimeDirectory= may list several directories, space-separated: use the first.
  if (const char* dir = std::getenv("RUNTIME_DIRECTORY"); dir != nullptr && *dir != '\0') {
    std::string first(dir);
    first = first.substr(0, first.find(' '));
    return first + "/weftd.sock";
  }
  return "/run/weft/weftd.sock";
}

ConsoleSettings read_console_settings(const ConfigSection& section) {
  ConsoleSettings s;
  s.socket = section.string("socket", default_console_socket());
  if (s.socket.empty() || s.socket.front() != '/')
    section.fail("socket", "must be an absolute path, e.g. \"/run/weft/weftd.sock\"");
  if (s.socket.size() >= sizeof(sockaddr_un::sun_path))
    section.fail("socket", "is " + std::to_string(s.socket.size()) + " bytes long; a Unix socket path must be under " +
                               std::to_string(sizeof(sockaddr_un::sun_path)) + " bytes");
  s.group_name = section.string("group", "");
  if (!s.group_name.empty()) {
    // At config time, before the loop runs: NSS may block.
    group entry{};
    group* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getgrnam_r(s.group_name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
      section.fail("group", "no group named '" + s.group_name + "' on this system (see /etc/group)");
    s.group = found->gr_gid;
  }
  s.idle_timeout = section.duration("idle_timeout", s.idle_timeout, std::chrono::milliseconds(10));
  s.max_clients = static_cast<std::size_t>(section.integer("max_clients", 128, 1, 100000));
  s.output_buffer = static_cast<std::size_t>(section.integer("output_buffer", 256 * 1024, 4096, 1 << 30));
  return s;
}

}  // namespace weft::apps

// weftctl's console connection (client.hpp).
#include "client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace weftctl {

using weft::console::Frame;
using weft::console::FrameKind;

std::string default_socket() {
  if (const char* s = std::getenv("WEFT_SOCKET"); s != nullptr && *s != '\0') return s;
  if (const char* dir = std::getenv("RUNTIME_DIRECTORY"); dir != nullptr && *dir != '\0') {
    std::string first(dir);
    return first.substr(0, first.find(' ')) + "/weftd.sock";
  }
  return "/run/weft/weftd.sock";
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::connect(const std::string& path) {
  path_ = path;
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) throw ConnectError{"socket path too long: " + path};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw ConnectError{std::string("socket(): ") + std::strerror(errno)};
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    if (e == ENOENT)
      throw ConnectError{"weftd is not running (no socket at " + path + "); start it or pass --socket"};
    if (e == ECONNREFUSED)
      throw ConnectError{"weftd is not running (nobody answers on " + path + ", a stale socket); start it or pass --socket"};
    if (e == EACCES || e == EPERM)
      throw ConnectError{"access refused by weftd: uid " + std::to_string(::geteuid()) + " may not open " + path +
                         " (" + std::strerror(e) + "); the console admits root, the owner of weftd and members of "
                         "its configured group"};
    throw ConnectError{"cannot connect to weftd at " + path + ": " + std::strerror(e)};
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd_, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) peer_pid_ = cred.pid;
  const Frame hello = [&] {
    bool stop_sent = false;
    return next_frame({}, false, 10, stop_sent);
  }();
  if (hello.kind == FrameKind::refused) {
    std::string text = hello.payload;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    throw ConnectError{text};
  }
  if (hello.kind != FrameKind::hello)
    throw ConnectError{"unexpected first frame from " + path + " (is it weftd's console socket?)"};
  hello_ = hello.payload;
}

void Client::send_all(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConnectError{"lost the connection to weftd (" + std::string(std::strerror(errno)) + ")",
                         ConnectError::Why::closed};
    }
    done += static_cast<std::size_t>(n);
  }
}

Frame Client::next_frame(const std::function<bool()>& interrupted, bool streaming, double timeout_s,
                         bool& stop_sent) {
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    if (auto frame = decoder_.next()) return std::move(*frame);
    if (!decoder_.error().empty()) throw ConnectError{"protocol error from weftd: " + decoder_.error()};
    if (!stop_sent && interrupted && interrupted()) {
      // A stream ends on any line (its final frame follows); an ordinary
      // request cannot be taken back, so Ctrl-C there gives up on it.
      if (!streaming) throw ConnectError{"interrupted", ConnectError::Why::interrupted};
      send_all("\n");
      stop_sent = true;
    }
    if (timeout_s > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > timeout_s)
      throw ConnectError{"no answer from weftd within " + std::to_string(static_cast<int>(timeout_s)) + " s",
                         ConnectError::Why::timeout};
    pollfd fds[2] = {{fd_, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    const bool watch_stdin = streaming && watch_stdin_ && !stop_sent;
    const int n = ::poll(fds, watch_stdin ? 2 : 1, 100);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConnectError{std::string("poll(): ") + std::strerror(errno)};
    }
    if (watch_stdin && (fds[1].revents & (POLLIN | POLLHUP))) {
      char discard[256];
      [[maybe_unused]] const ssize_t ignored = ::read(STDIN_FILENO, discard, sizeof discard);
      send_all("\n");
      stop_sent = true;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[65536];
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) throw ConnectError{"weftd closed the connection", ConnectError::Why::closed};
      decoder_.feed(std::string_view(buf, static_cast<std::size_t>(got)));
    }
  }
}

Reply Client::request(const std::string& line, const std::function<void(const std::string&)>& on_chunk,
                      const std::function<bool()>& interrupted, double timeout_s) {
  send_all(line + "\n");
  bool stop_sent = false;
  bool streaming = false;  // the server opens every stream with an empty D frame
  for (;;) {
    Frame f = next_frame(interrupted, streaming, streaming ? 0 : timeout_s, stop_sent);
    switch (f.kind) {
      case FrameKind::data:
        streaming = true;
        if (on_chunk && !f.payload.empty()) on_chunk(f.payload);
        break;
      case FrameKind::ok: return Reply{true, std::move(f.payload)};
      case FrameKind::error: return Reply{false, std::move(f.payload)};
      case FrameKind::refused: throw ConnectError{f.payload};
      case FrameKind::hello: break;
    }
  }
}

}  // namespace weftctl

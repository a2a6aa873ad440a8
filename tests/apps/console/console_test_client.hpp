// Test support: a blocking console client for tests that run weftd's loop
// on the main thread and talk to it from another thread (or the test's own
// thread while a runtime runs elsewhere). Every wait is bounded.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/apps/console/console_protocol.hpp"

namespace weft::test {

class ConsoleClient {
public:
  explicit ConsoleClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
  }
  ~ConsoleClient() { close(); }
  ConsoleClient(const ConsoleClient&) = delete;
  ConsoleClient& operator=(const ConsoleClient&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const noexcept { return fd_; }

  void send(const std::string& bytes) {
    if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size()))
      throw std::runtime_error("send failed");
  }

  // The next frame, or nullopt on EOF or after `timeout`.
  std::optional<console::Frame> frame(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = decoder_.next()) return f;
      if (!decoder_.error().empty()) throw std::runtime_error("protocol: " + decoder_.error());
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        return std::nullopt;
      }
      decoder_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  bool eof() const noexcept { return eof_; }

  // Sends a request and returns its final frame (stream chunks collected in `chunks`).
  console::Frame request(const std::string& line, std::vector<std::string>* chunks = nullptr) {
    send(line + "\n");
    for (;;) {
      auto f = frame();
      if (!f) throw std::runtime_error("no reply to '" + line + "'");
      if (f->kind == console::FrameKind::data) {
        if (chunks) chunks->push_back(f->payload);
        continue;
      }
      return *f;
    }
  }

private:
  int fd_ = -1;
  bool eof_ = false;
  console::FrameDecoder decoder_;
};

}  // namespace weft::test

// weftctl's connection to weftd's console: connect (with the messages a
// person needs when weftd is not running or refuses), one request at a
// time, frames as they arrive. Blocking I/O: weftctl is a separate process
// with one job; every wait can be interrupted (Ctrl-C, or a timeout).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "weft/apps/console/console_protocol.hpp"

namespace weftctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // the command failed
inline constexpr int kExitUsage = 2;    // bad weftctl command line
inline constexpr int kExitNoConsole = 3;  // weftd not running, access refused, connection lost

// Why a connection could not be made or was lost; `message` is for people.
struct ConnectError {
  enum class Why { other, closed, timeout, interrupted };
  std::string message;
  Why why = Why::other;  // closed: the connection was there and went away (mid-request)
};

struct Reply {
  bool ok = false;
  std::string text;  // the final frame's payload
};

class Client {
public:
  ~Client();
  // Connects and waits for weftd's hello. Throws ConnectError.
  void connect(const std::string& path);

  // Sends `line` and returns the final frame. Stream chunks go to
  // `on_chunk` as they arrive. While a stream runs, `interrupted` returning
  // true (polled every 100 ms, e.g. after Ctrl-C) or a line on stdin (see
  // watch_stdin) ends it by sending an empty line; outside a stream,
  // `interrupted` abandons the request (ConnectError "interrupted").
  // `timeout_s` > 0 bounds the wait for each frame of a non-streaming
  // reply. Throws ConnectError.
  Reply request(const std::string& line, const std::function<void(const std::string&)>& on_chunk,
                const std::function<bool()>& interrupted = {}, double timeout_s = 0);

  const std::string& hello() const noexcept { return hello_; }
  // The pid of the process that accepted the connection (SO_PEERCRED, in
  // weftctl's pid namespace); -1 if unknown.
  int peer_pid() const noexcept { return peer_pid_; }
  // Whether a line on stdin ends a stream (the REPL: yes; --exec: only Ctrl-C).
  void watch_stdin(bool on) noexcept { watch_stdin_ = on; }

private:
  weft::console::Frame next_frame(const std::function<bool()>& interrupted, bool streaming, double timeout_s,
                                  bool& stop_sent);
  void send_all(const std::string& bytes);

  int fd_ = -1;
  int peer_pid_ = -1;
  bool watch_stdin_ = false;
  std::string path_;
  std::string hello_;
  weft::console::FrameDecoder decoder_;
};

std::string default_socket();

}  // namespace weftctl

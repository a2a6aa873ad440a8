// The console server (console_server.hpp). One listener coroutine accepts;
// each admitted client gets one session coroutine in the connection table.
// A session is two halves joined with &&: `dispatch` reads request lines
// and queues reply frames into the client's output buffer; `drain` writes
// that buffer to the socket. A full buffer (the client stopped reading)
// closes the socket, which ends both halves. Timeouts here are real time
// (a steady_timer): a person at a terminal does not follow the virtual clock.
#include "console_server.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <system_error>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "weft/apps/console/console_protocol.hpp"
#include "weft/core/commands.hpp"
#include "weft/core/context.hpp"
#include "weft/core/runtime_control.hpp"
#include "weft/core/task_group.hpp"

namespace weft::apps {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Socket = asio::local::stream_protocol::socket;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string errno_text(int e) { return std::strerror(e); }

// ---- the listening socket (blocking pool: it touches the filesystem) ------

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);  // length checked with the config
  return addr;
}

// A socket file already there: someone answering means another weftd;
// nobody answering means a stale socket of a dead one, which we replace.
void clear_stale_socket(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error("console socket " + path +
                             " exists and is not a socket; remove it or set [service.console] socket");
  Fd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  const sockaddr_un addr = address_of(path);
  if (::connect(probe.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
    throw std::runtime_error("console socket " + path +
                             " is answered by another process (is another weftd running?); stop it or set "
                             "[service.console] socket to another path");
  if (errno != ECONNREFUSED)
    throw std::runtime_error("console socket " + path + ": cannot check whether it is stale: " + errno_text(errno));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw std::runtime_error("console socket " + path + ": cannot remove the stale socket: " + errno_text(errno));
}

// Bind, then set the mode, then listen: nobody can connect before listen(),
// so there is no moment when the socket is open with a wider mode.
int open_listener(const ConsoleSettings& s) {
  const std::filesystem::path dir = std::filesystem::path(s.socket).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("console socket " + s.socket + ": cannot create its directory " + dir.string() + ": " +
                             ec.message() + " (weftd needs write access there, or set [service.console] socket)");
  clear_stale_socket(s.socket);
  Fd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (fd.fd < 0) throw std::runtime_error("console: socket(): " + errno_text(errno));
  const sockaddr_un addr = address_of(s.socket);
  if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("console socket " + s.socket + ": cannot bind: " + errno_text(errno) +
                             (errno == EADDRINUSE ? " (another weftd started at the same time?)" : ""));
  const mode_t mode = s.group ? 0660 : 0600;
  if (::chmod(s.socket.c_str(), mode) != 0 ||
      (s.group && ::chown(s.socket.c_str(), static_cast<uid_t>(-1), *s.group) != 0)) {
    const int e = errno;
    ::unlink(s.socket.c_str());
    throw std::runtime_error("console socket " + s.socket + ": cannot set its mode or group: " + errno_text(e));
  }
  if (::listen(fd.fd, 64) != 0) {
    const int e = errno;
    ::unlink(s.socket.c_str());
    throw std::runtime_error("console socket " + s.socket + ": cannot listen: " + errno_text(e));
  }
  return fd.release();
}

// ---- who is calling ----------------------------------------------------------

struct Peer {
  ucred cred{};
  bool allowed = false;
  std::string label;  // "uid 1000 pid 4242"
};

Peer check_peer(int fd, const ConsoleSettings& s) {
  Peer p;
  socklen_t len = sizeof p.cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &p.cred, &len) != 0) {
    p.label = "unknown peer (SO_PEERCRED: " + errno_text(errno) + ")";
    return p;
  }
  p.label = "uid " + std::to_string(p.cred.uid) + " pid " + std::to_string(p.cred.pid);
  if (p.cred.uid == 0 || p.cred.uid == ::geteuid()) {
    p.allowed = true;
  } else if (s.group) {
    if (p.cred.gid == *s.group) {
      p.allowed = true;
    } else {
      // Supplementary groups as they were at connect time (Linux >= 4.13).
      gid_t groups[256];
      socklen_t glen = sizeof groups;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        for (std::size_t i = 0; i < glen / sizeof(gid_t); ++i)
          if (groups[i] == *s.group) p.allowed = true;
    }
  }
  return p;
}

std::string refusal_text(const Peer& p, const ConsoleSettings& s) {
  std::string text = "access refused by weftd: uid " + std::to_string(p.cred.uid) + " is not root, the owner (uid " +
                     std::to_string(::geteuid()) + ")";
  text += s.group ? " or in group " + s.group_name : ", and no [service.console] group is configured";
  return text + "\n";
}

// Best effort, never blocks: a fresh socket's send buffer takes a short frame.
void send_and_close(Socket& sock, console::FrameKind kind, const std::string& text) {
  const std::string frame = console::encode_frame(kind, text);
  [[maybe_unused]] const auto sent = ::send(sock.native_handle(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  boost::system::error_code ignored;
  sock.close(ignored);
}

// ---- one client ----------------------------------------------------------------

struct Client {
  Client(Socket s, std::string l, const ConsoleSettings& st, ConsoleCounters& c)
      : sock(std::move(s)), label(std::move(l)), settings(st), counters(c), wake(sock.get_executor()) {}

  Socket sock;
  std::string label;
  const ConsoleSettings& settings;
  ConsoleCounters& counters;
  std::string in;             // bytes read, not yet a whole line
  std::string out;            // frames queued, not yet handed to the kernel
  asio::steady_timer wake;    // cancelled to wake `drain`
  bool closing = false;       // no more frames will be queued: drain what is left, then stop
  bool dropped = false;

  void notify() { wake.cancel(); }

  // false: the buffer would overflow; the client is dropped.
  bool queue(console::FrameKind kind, std::string_view payload, bool final_reply, Context& ctx) {
    if (dropped) return false;
    // A final reply is always queued (one per request, bounded by what it
    // reports); stream chunks and pipelined requests are what the bound stops.
    if (!final_reply && out.size() + payload.size() > settings.output_buffer) {
      drop(ctx, "its output buffer of " + std::to_string(settings.output_buffer) + " bytes is full (it stopped reading)");
      return false;
    }
    out += console::encode_frame(kind, payload);
    notify();
    return true;
  }

  void drop(Context& ctx, const std::string& why) {
    if (dropped) return;
    dropped = true;
    ++counters.dropped_slow;
    ctx.log().warn("console: dropping client {}: {}", label, why);
    boost::system::error_code ignored;
    sock.close(ignored);  // ends the pending read and write of both halves
    notify();
  }
};

class StreamOutput final : public CommandOutput {
public:
  StreamOutput(Client& c, Context& ctx, bool json) : client_(c), ctx_(ctx), json_(json) {}
  bool write(std::string_view chunk) override {
    return client_.queue(console::FrameKind::data, chunk, false, ctx_);
  }
  bool json() const noexcept override { return json_; }

private:
  Client& client_;
  Context& ctx_;
  bool json_;
};

// Reads one line, raced against the idle timeout. nullopt: EOF, error,
// timeout or an oversized request (the client is then closed).
asio::awaitable<std::optional<std::string>> read_line(Client& c, Context& ctx) {
  asio::steady_timer idle(c.sock.get_executor());
  idle.expires_after(c.settings.idle_timeout);
  auto result = co_await (asio::async_read_until(c.sock, asio::dynamic_buffer(c.in, console::kMaxRequest + 1), '\n',
                                                 kTuple) ||
                          idle.async_wait(kTuple));
  if (result.index() == 1) {
    ++c.counters.idle_closed;
    ctx.log().info("console: closing client {}: idle for {} s", c.label,
                   std::chrono::duration_cast<std::chrono::seconds>(c.settings.idle_timeout).count());
    c.queue(console::FrameKind::error, "closing: idle too long\n", true, ctx);
    co_return std::nullopt;
  }
  auto [ec, n] = std::get<0>(result);
  if (ec == asio::error::not_found) {
    c.queue(console::FrameKind::error,
            "request longer than " + std::to_string(console::kMaxRequest) + " bytes; closing\n", true, ctx);
    co_return std::nullopt;
  }
  if (ec) co_return std::nullopt;
  std::string line = c.in.substr(0, n - 1);
  c.in.erase(0, n);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  co_return line;
}

// A command that throws (or goes away) still gets a final reply.
asio::awaitable<CommandReply> run_guarded(Commands& commands, std::string name, CommandArgs args, CommandOutput* out) {
  std::exception_ptr failed;
  std::string what;
  try {
    co_return co_await commands.run(name, args, out);
  } catch (const std::exception& e) {
    failed = std::current_exception();
    what = e.what();
  }
  // Ours was cancelled (the client left, the console stops): pass it on.
  // Otherwise the command failed, or its service stopped under it: a failed reply.
  auto state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) std::rethrow_exception(failed);
  co_return CommandReply{false, "error: " + what + "\n", {}};
}

std::string first_words_of_two_word_commands(const Commands& commands, const std::string& first) {
  std::string out;
  for (const auto& info : commands.list())
    if (info.command->name.starts_with(first + " ")) out += (out.empty() ? "" : ", ") + info.command->usage;
  return out;
}

std::string json_wrap(const CommandReply& r) {
  return std::string("{\"ok\":") + (r.ok ? "true" : "false") + ",\"text\":" + console::json_string(r.text) + "}";
}

// One request: parse, run, queue the final frame (and stream frames before it).
asio::awaitable<bool> handle_request(Client& c, Context& ctx, const std::string& line) {
  Commands& commands = ctx.runtime_control().commands();
  std::vector<std::string> words;
  std::string error;
  if (!split_command_line(line, words, error)) {
    c.queue(console::FrameKind::error, error + "\n", true, ctx);
    co_return true;
  }
  bool json = false;
  if (!words.empty() && words.front() == "--json") {
    json = true;
    words.erase(words.begin());
  }
  if (words.empty()) co_return true;  // no reply: a stray stream-ending line must not shift the replies
  ++c.counters.requests;
  std::size_t consumed = 0;
  const Command* command = commands.lookup(words, &consumed);
  if (command == nullptr) {
    const std::string subs = first_words_of_two_word_commands(commands, words[0]);
    const std::string text = subs.empty() ? "unknown command '" + words[0] + "'; type 'help' for the list of commands\n"
                                          : "'" + words[0] + "' needs a sub-command: " + subs + "\n";
    c.queue(console::FrameKind::error, json ? json_wrap({false, text, {}}) : text, true, ctx);
    co_return true;
  }
  const std::string name = command->name;
  CommandArgs args(words.begin() + static_cast<std::ptrdiff_t>(consumed), words.end());
  CommandReply reply;
  bool keep_open = true;
  if (command->stream) {
    // The stream runs until it returns, or the client sends a line / leaves.
    StreamOutput out(c, ctx, json);
    c.queue(console::FrameKind::data, "", false, ctx);  // opens the stream: the client may now end it with a line
    auto result = co_await (run_guarded(commands, name, args, &out) ||
                            asio::async_read_until(c.sock, asio::dynamic_buffer(c.in, console::kMaxRequest + 1), '\n',
                                                   kTuple));
    if (result.index() == 1) {
      auto [ec, n] = std::get<1>(result);
      if (ec) co_return false;  // gone (or dropped)
      c.in.erase(0, n);         // the line that ended the stream is not run
      reply = CommandReply{true, "", {}};
    } else {
      reply = std::get<0>(std::move(result));
    }
  } else {
    reply = co_await run_guarded(commands, name, std::move(args), nullptr);
  }
  const std::string payload = json ? (reply.json.empty() ? json_wrap(reply) : reply.json) : reply.text;
  c.queue(reply.ok ? console::FrameKind::ok : console::FrameKind::error, payload, true, ctx);
  if (c.dropped) keep_open = false;
  co_return keep_open;
}

asio::awaitable<void> dispatch(Client& c, Context& ctx) {
  while (!c.dropped) {
    // A client that sends requests without reading replies fills its buffer.
    if (c.out.size() > c.settings.output_buffer) {
      c.drop(ctx, "it sends requests without reading the replies (" + std::to_string(c.out.size()) +
                      " bytes queued)");
      break;
    }
    std::optional<std::string> line = co_await read_line(c, ctx);
    if (!line || !co_await handle_request(c, ctx, *line)) break;
  }
  c.closing = true;
  c.notify();
}

// Writes the output buffer. A write that makes no progress for the idle
// timeout drops the client, so a reader that vanished is not kept forever.
asio::awaitable<void> drain(Client& c, Context& ctx) {
  std::string sending;
  for (;;) {
    while (c.out.empty()) {
      if (c.closing || c.dropped) co_return;
      c.wake.expires_at(asio::steady_timer::time_point::max());
      co_await c.wake.async_wait(kTuple);
    }
    sending.clear();
    std::swap(sending, c.out);
    asio::steady_timer stall(c.sock.get_executor());
    stall.expires_after(c.settings.idle_timeout);
    auto result = co_await (asio::async_write(c.sock, asio::buffer(sending), kTuple) || stall.async_wait(kTuple));
    if (result.index() == 1) {
      c.drop(ctx, "a write made no progress for the idle timeout");
      co_return;
    }
    if (std::get<0>(std::get<0>(result))) {
      c.dropped = true;  // the peer went away; nothing to report
      co_return;
    }
  }
}

asio::awaitable<void> session(Socket sock, std::string label, Context& ctx, const ConsoleSettings& s,
                              ConsoleCounters& counters) {
  Client c(std::move(sock), std::move(label), s, counters);
  ++counters.clients;
  ctx.log().debug("console: client {} connected", c.label);
  try {
    c.queue(console::FrameKind::hello, "weft console, pid " + std::to_string(::getpid()) + "\n", true, ctx);
    co_await (dispatch(c, ctx) && drain(c, ctx));
  } catch (const std::exception& e) {
    // Cancellation (the console stops) or a failed half: the client ends here,
    // never the console (the connection table must not see a failure).
    ctx.log().debug("console: client {} ended: {}", c.label, e.what());
  }
  --counters.clients;
  ctx.log().debug("console: client {} disconnected", c.label);
}

asio::awaitable<void> accept_loop(asio::local::stream_protocol::acceptor& acceptor, TaskGroup& clients, Context& ctx,
                                  const ConsoleSettings& s, ConsoleCounters& counters) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "console accept");
    if (ec) {
      // EMFILE and friends: say so and wait, instead of spinning on the error.
      ctx.log().warn("console: accept failed: {}; retrying in 1 s", ec.message());
      asio::steady_timer pause(acceptor.get_executor());
      pause.expires_after(std::chrono::seconds(1));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    const Peer peer = check_peer(sock.native_handle(), s);
    if (!peer.allowed) {
      ++counters.refused;
      ctx.log().warn("console: refused {}: not root, the owner or in the console group", peer.label);
      send_and_close(sock, console::FrameKind::refused, refusal_text(peer, s));
      continue;
    }
    if (counters.clients >= s.max_clients) {
      ++counters.too_many;
      ctx.log().warn("console: turned away {}: {} clients already connected (max_clients)", peer.label, counters.clients);
      send_and_close(sock, console::FrameKind::refused,
                     "weftd has too many console clients (" + std::to_string(s.max_clients) +
                         ", [service.console] max_clients); try again later\n");
      continue;
    }
    ++counters.accepted;
    clients.spawn(session(std::move(sock), peer.label, ctx, s, counters));
  }
}

}  // namespace

asio::awaitable<void> serve_console(Context& ctx, const ConsoleSettings& s, ConsoleCounters& counters) {
  const int fd = co_await ctx.blocking_result([&s] { return open_listener(s); });
  asio::local::stream_protocol::acceptor acceptor(ctx.executor());
  boost::system::error_code ec;
  acceptor.assign(asio::local::stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    throw boost::system::system_error(ec, "console socket " + s.socket + ": cannot register with the loop");
  }
  ctx.log().info("console: listening on {} (mode {}{})", s.socket, s.group ? "0660, group " : "0600",
                 s.group ? s.group_name : "");
  ctx.ready();
  // The accept loop is a child too (children run only inside join()): a
  // stop cancels it and every session, and join() waits for all of them.
  TaskGroup clients(ctx.executor());
  clients.spawn(accept_loop(acceptor, clients, ctx, s, counters));
  std::exception_ptr ended;
  try {
    co_await clients.join();
  } catch (...) {
    ended = std::current_exception();
  }
  // Stopped: remove the socket (a courtesy: the next start replaces a
  // stale one anyway), although the stop is still pending.
  co_await asio::this_coro::reset_cancellation_state();
  acceptor.close(ec);
  // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
  std::function<void()> remove_socket = [path = s.socket] { ::unlink(path.c_str()); };
  co_await ctx.blocking(std::move(remove_socket));
  if (ended) std::rethrow_exception(ended);
}

}  // namespace weft::apps

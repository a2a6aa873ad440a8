// A circuit's byte stream: VERSION at once after accept (pitfall 3), then
// frames scanned from a buffered stream (any split, several per segment,
// extended headers; a malformed one closes this circuit only, with one log
// line) and handed to handle() in order; a device write is awaited before
// the next request. Output is one bounded buffer per circuit: while it is at
// send_buffer no further request is taken. One writer (send_loop) sends each
// circuit's output as far as its socket takes it at once, yielding the loop
// every kSendSlice; the rest goes to the circuit's own drain, and a write
// the drain has not finished within client_timeout closes the circuit. Every message in and out goes to the
// circuit's trace ring (and, at debug, the log). A stop sends
// SERVER_DISCONN for every channel, best effort, never waiting. accept_loop
// refuses circuits over max_circuits (logged once per address).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "ca_server.hpp"

namespace weft::apps::ca_server {
namespace {

using namespace asio::experimental::awaitable_operators;

void log_in(Circuit& c, const ca::Frame& f) {
  c.record(false, f.header);
  auto& log = c.server.ctx.log();
  if (!log.should_log(spdlog::level::debug)) return;
  log.debug("ca: {} <- {} size {} type {} count {} p1 {} p2 {}", c.peer, ca_label(f.header), f.header.payload_size,
            f.header.data_type, f.header.data_count, f.header.p1, f.header.p2);
}


// Our own messages, for the trace ring and the debug log. We built them, so
// the scan cannot fail; the limit is only what the scanner needs.
void log_out(Circuit& c, std::span<const std::uint8_t> bytes) {
  auto& log = c.server.ctx.log();
  const bool debug = log.should_log(spdlog::level::debug);
  const ca::Limits any{.max_array_bytes = 0xFFFF0000u};
  while (!bytes.empty()) {
    const auto scanned = ca::scan_frame(bytes, any);
    if (!std::holds_alternative<ca::Frame>(scanned)) break;
    const ca::Frame& f = std::get<ca::Frame>(scanned);
    c.record(true, f.header);
    if (debug) {
      log.debug("ca: {} -> {} size {} type {} count {} p1 {} p2 {}", c.peer, ca_label(f.header), f.header.payload_size,
                f.header.data_type, f.header.data_count, f.header.p1, f.header.p2);
    }
    bytes = bytes.subspan(f.length);
  }
}

asio::awaitable<void> serve_requests(Circuit& c) {
  Server& s = c.server;
  std::vector<std::uint8_t> in;
  std::array<std::uint8_t, 16384> chunk;
  while (!c.closing) {
    auto [ec, n] = co_await c.sock.async_read_some(asio::buffer(chunk), kTuple);
    if (ec) break;
    c.bytes_in += n;
    in.insert(in.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
    std::size_t at = 0;
    bool keep = true;
    while (keep) {
      // Replies to requests (READ_NOTIFY, CREATE_CHAN, ...) are not
      // squashed like monitor updates: while the output is at send_buffer,
      // no more requests are taken (the client's own TCP window then
      // pushes back), so memory per circuit stays bounded even for a
      // client that sends requests and never reads the replies. A client
      // that stops reading altogether is closed by drain's client_timeout.
      while (!c.closing && c.out.size() >= s.s.send_buffer) {
        c.room.expires_at(asio::steady_timer::time_point::max());
        co_await c.room.async_wait(kTuple);
        const auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) c.closing = true;
      }
      if (c.closing) {
        keep = false;
        break;
      }
      const auto scanned = ca::scan_frame(std::span<const std::uint8_t>(in).subspan(at), s.s.limits);
      if (std::holds_alternative<ca::NeedMore>(scanned)) break;
      if (const auto* e = std::get_if<ca::Error>(&scanned)) {
        ++s.malformed;
        s.ctx.log().warn("ca: circuit {} ({}): {}; closing it", c.peer, who(c), e->message());
        keep = false;
        break;
      }
      const ca::Frame& f = std::get<ca::Frame>(scanned);
      log_in(c, f);
      const auto decoded = ca::decode_request(f, s.s.limits);
      const std::size_t staged = c.persist_replies.size(), out_before = c.out.size();
      if (const auto* e = std::get_if<ca::Error>(&decoded)) {
        send_error(c, f, ca::no_cid, ca::to_eca(e->code), e->message());
        if (e->code != ca::errc::unknown_command && e->code != ca::errc::obsolete_command) {
          ++s.malformed;
          s.ctx.log().warn("ca: circuit {} ({}): {}; closing it", c.peer, who(c), e->message());
          keep = false;
        }
      } else {
        const ca::Request& request = std::get<ca::Request>(decoded);
        // Writes to persist soft points in a row wait for the disk together;
        // any other request first waits for them (requests stay in order).
        if (!c.persist_replies.empty() && !joins_persist_batch(c, request)) co_await finish_persist_writes(c);
        keep = handle(c, f, request);
      }
      if (staged != 0 && c.persist_replies.size() == staged) hold_reply(c, out_before);
      at += f.length;
      if (keep && c.device_write) co_await run_device_write(c);
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(std::min(at, in.size())));
    if (!c.persist_replies.empty()) co_await finish_persist_writes(c);  // nothing more to batch with them
    if (!keep) break;
  }
  c.closing = true;
  c.notify();
}


// The slow path: writes what send_loop could not (a full socket) and, once
// the circuit is closing, what is left; a write that has not finished
// within client_timeout closes the circuit (the client stopped reading).
asio::awaitable<void> drain(Circuit& c) {
  std::vector<std::uint8_t> sending;
  for (;;) {
    while (c.out.empty() || !(c.slow || c.closing)) {
      if (c.closing && c.out.empty()) co_return;
      c.wake.expires_at(asio::steady_timer::time_point::max());
      co_await c.wake.async_wait(kTuple);
    }
    sending.clear();
    std::swap(sending, c.out);
    c.room.cancel();  // serve_requests may take requests again
    log_out(c, std::span<const std::uint8_t>(sending).subspan(std::min(c.out_logged, sending.size())));
    c.out_logged = 0;
    asio::steady_timer stall(c.sock.get_executor());
    stall.expires_after(c.server.s.client_timeout);
    c.writing = true;
    auto result = co_await (asio::async_write(c.sock, asio::buffer(sending), kTuple) || stall.async_wait(kTuple));
    if (result.index() == 0 && !std::get<0>(std::get<0>(result))) c.writing = false;
    if (result.index() == 1) {
      c.server.ctx.log().warn("ca: circuit {} ({}): output not drained for {} ms ([service.ca] client_timeout, {} "
                              "updates squashed); closing it",
                              c.peer, who(c),
                              std::chrono::duration_cast<std::chrono::milliseconds>(c.server.s.client_timeout).count(),
                              c.squashed);
      break;
    }
    if (std::get<0>(std::get<0>(result))) break;  // the client went away
    c.bytes_out += sending.size();
    if (c.out.empty()) c.slow = false;  // back to send_loop
    flush_pending(c);
  }
  c.closing = true;
  c.room.cancel();
  boost::system::error_code ignored;
  c.sock.close(ignored);
}

// Sends as much of the circuit's output as its socket takes now (never
// waits); what is left makes the circuit slow: its drain takes over.
void send_now(Circuit& c) {
  if (c.slow || c.closing || c.out.empty()) {
    if (c.closing) c.wake.cancel();
    return;
  }
  log_out(c, std::span<const std::uint8_t>(c.out).subspan(std::min(c.out_logged, c.out.size())));
  c.out_logged = c.out.size();
  boost::system::error_code ec;
  std::size_t n = c.sock.write_some(asio::buffer(c.out), ec);  // the socket is non-blocking (circuit_session)
  ++c.server.sends;
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    n = 0;
  }
  if (ec) {  // the client went away: the drain closes the circuit
    c.closing = true;
    c.wake.cancel();
    return;
  }
  c.bytes_out += n;
  c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(n));
  c.out_logged -= n;
  if (!c.out.empty()) {
    ++c.server.slow_sends;
    c.slow = true;
    if (n != 0) c.writing = true;  // a message may be cut: a stop must not send SERVER_DISCONN after it
    c.wake.cancel();
    return;
  }
  c.room.cancel();  // serve_requests may take requests again
  flush_pending(c);
}

asio::awaitable<void> circuit_session(Server& s, tcp::socket sock, std::string peer) {
  Circuit c(s, std::move(sock), std::move(peer));  // s.circuits was counted by accept_loop
  s.open.push_back(&c);
  boost::system::error_code ignored;
  c.sock.set_option(tcp::no_delay(true), ignored);
  c.sock.set_option(asio::socket_base::keep_alive(true), ignored);
  c.sock.non_blocking(true, ignored);  // send_now's write_some never waits (async operations are unaffected)
  if (s.s.socket_send_buffer != 0) {
    c.sock.set_option(asio::socket_base::send_buffer_size(static_cast<int>(s.s.socket_send_buffer)), ignored);
  }
  ca::encode(c.out, ca::Version{0, ca::minor_version, 0});  // at once after accept (pitfall 3)
  c.notify();
  // A stop cancels both halves; their waits return operation_aborted as a
  // value (as_tuple), so the stop is seen here either as an exception or in
  // the cancellation state.
  bool stopped = false;
  try {
    co_await (serve_requests(c) && drain(c));
    const auto state = co_await asio::this_coro::cancellation_state;
    stopped = state.cancelled() != asio::cancellation_type::none;
  } catch (const std::exception& e) {
    stopped = true;
    s.ctx.log().debug("ca: circuit {} ended: {}", c.peer, e.what());
  }
  if (stopped && !c.writing) {
    // Tell the client its channels are gone, best effort, never waiting. Not
    // after a write cut short: its rest is lost, so the stream is no longer
    // framed; the close alone then tells libca the same.
    std::vector<std::uint8_t> bye = std::move(c.farewell);  // replies owed (a WRITE_NOTIFY cut short by the stop)
    for (const auto& [sid, ch] : c.channels) ca::encode(bye, ca::ServerDisconn{ch->cid});
    if (!bye.empty() && c.sock.is_open()) {
      c.sock.write_some(asio::buffer(bye), ignored);
    }
  }
  --s.circuits;
  s.open.erase(std::remove(s.open.begin(), s.open.end(), &c), s.open.end());
  s.squashed_closed += c.squashed;
  s.ctx.log().debug("ca: circuit {} ({}@{}) closed: {} bytes in, {} out, {} updates squashed", c.peer, c.user, c.host,
                    c.bytes_in, c.bytes_out, c.squashed);
}

}  // namespace

asio::awaitable<void> send_loop(Server& s) {
  for (;;) {
    while (s.to_send.empty()) {
      s.send_wake.expires_at(asio::steady_timer::time_point::max());
      co_await s.send_wake.async_wait(kTuple);
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return;
    }
    auto began = std::chrono::steady_clock::now();
    while (!s.to_send.empty()) {
      Circuit& c = *s.to_send.front();
      s.to_send.pop_front();
      c.queued = false;
      send_now(c);
      if (!s.to_send.empty() && std::chrono::steady_clock::now() - began >= kSendSlice) {
        // A circuit may end meanwhile: its destructor takes it out of to_send.
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        began = std::chrono::steady_clock::now();
      }
    }
  }
}

// The client's claimed user@host ("?" for a name not sent yet).
std::string who(const Circuit& c) {
  return (c.user.empty() ? "?" : c.user) + "@" + (c.host.empty() ? "?" : c.host);
}

std::string ca_label(const ca::Header& h) {
  const std::string_view name = ca::to_string(static_cast<ca::Command>(h.command));
  return name == "unknown" ? "command " + std::to_string(h.command) : std::string(name);
}

asio::awaitable<void> accept_loop(Server& s, tcp::acceptor& acceptor, TaskGroup& circuits) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec, "ca accept");
    if (ec) {
      s.ctx.log().warn("ca: accept failed: {}; retrying in 1 s", ec.message());
      asio::steady_timer pause(acceptor.get_executor());
      pause.expires_after(std::chrono::seconds(1));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    boost::system::error_code pe;
    const auto remote = sock.remote_endpoint(pe);
    std::string peer = pe ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    if (s.circuits >= s.s.max_circuits) {
      ++s.circuits_refused;
      const std::string address = pe ? "?" : remote.address().to_string();
      if (s.refused_addresses.size() < 1024 && s.refused_addresses.insert(address).second) {
        s.ctx.log().warn("ca: refusing a circuit from {}: {} circuits open ([service.ca] max_circuits); "
                         "further refusals of this address are not logged",
                         address, s.circuits);
      }
      sock.close(pe);
      continue;
    }
    ++s.circuits_accepted;
    ++s.circuits;  // now, not when the session starts: a burst of accepts must see each one
    circuits.spawn(circuit_session(s, std::move(sock), std::move(peer)));
  }
}

}  // namespace weft::apps::ca_server

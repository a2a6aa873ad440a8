// An MQTT 3.1.1 client: libmosquitto driven by the Asio loop through its
// socket (mosquitto_socket + loop_read/loop_write/loop_misc, want_write);
// libmosquitto never runs a thread of its own. Loop thread only.
//
// One Client object, many connections: every connect() starts a fresh
// libmosquitto session (clean session), so nothing the library queued for an
// old connection is resent behind the owner's back; resending what was in
// flight is the owner's decision (it knows what the broker acknowledged).
//
//   idle --connect()--> connecting --CONNACK 0--> connected --lost/disconnect()--> idle
//                          \--refused, timeout, unreachable--> idle
//
// DNS: mosquitto_connect_async resolves with a blocking getaddrinfo (and
// TLS setup reads the CA/cert files), so that step runs through the
// caller's BlockingRunner (the runtime's blocking pool); the TCP connect is
// non-blocking and everything after it happens on the loop. Nothing else
// touches the library while that step runs: the connect() coroutine owns
// the client until it returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "weft/core/clock.hpp"
#include "weft/drivers/mqtt/broker_url.hpp"
#include "weft/drivers/mqtt/errors.hpp"

namespace weft {
class TimerQueue;
}

namespace weft::mqtt {

struct ClientOptions {
  BrokerUrl url;
  std::string client_id;  // empty: the broker assigns one
  std::string username;   // empty: no credentials
  std::string password;
  std::string ca_file;    // TLS (mqtts://): CA to verify the broker; empty: the system's CAs
  std::string cert_file;  // TLS client certificate and its key (both or neither)
  std::string key_file;
  Duration keepalive = std::chrono::seconds(30);
  Duration connect_timeout = std::chrono::seconds(10);  // from the TCP connect to CONNACK
  unsigned max_in_flight = 20;  // QoS 1 messages without PUBACK; more are queued by the library
  // Incoming messages (subscribe()): a payload longer than this is not
  // kept (its event has `size` only, `payload` empty), so one huge message
  // costs no memory past libmosquitto's own read of it (bound that with the
  // broker's message_size_limit).
  std::size_t max_incoming_bytes = 256 * 1024;
};

// What next_event() reports.
struct Event {
  enum class Kind { acked, lost, subscribed, message };
  Kind kind = Kind::acked;
  int mid = 0;  // acked: the message id publish() returned; subscribed: subscribe()'s
  // lost: why the connection ended. subscribed: set (subscribe_refused)
  // when the broker refused the subscription (SUBACK 0x80, e.g. its ACL
  // denies the filter): nothing will arrive on it; `topic` is the filter.
  Error error;
  // message: one that arrived on a subscription (already acknowledged to
  // the broker by libmosquitto, QoS 1). `payload` is empty when `size`
  // exceeds ClientOptions::max_incoming_bytes.
  std::string topic;
  std::string payload;
  std::size_t size = 0;
  bool retained = false;  // the broker's retained copy, not a live publish
  bool oversized() const noexcept { return size > payload.size(); }
};

// Incoming messages are never dropped: libmosquitto has acknowledged each
// one (QoS 1 PUBACK) before the client sees it, so dropping it would lose
// it for good. The queue stays bounded without a cap: the socket is read
// only when no event waits (next_event() drains first), and one
// mosquitto_loop_read() reads a bounded number of packets (libmosquitto
// 2.0: as many as the client has QoS 1 messages of its own queued, plus
// one, plus what TLS already holds decrypted). Each costs at most
// max_incoming_bytes. Deciding what a flood means (newest wins, ...) is
// the owner's job.

// Runs blocking work off the loop and resumes when it has finished (e.g.
// [&ctx](auto work) { return ctx.blocking(std::move(work)); }).
using BlockingRunner = std::function<boost::asio::awaitable<void>(std::function<void()>)>;

class Client {
public:
  // `timers` bounds the connect and paces keepalive (it follows the runtime's clock).
  Client(boost::asio::any_io_executor executor, TimerQueue& timers, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One connection attempt, bounded by connect_timeout after the lookup.
  // Returns an empty Error once the broker accepted (CONNACK 0); otherwise
  // the reason (refused: the CONNACK code and its text). Drops any previous
  // connection first. Cancel-safe: a cancelled attempt leaves the client idle.
  boost::asio::awaitable<Error> connect(const BlockingRunner& blocking);

  // Queues one QoS 1 message (retain off) and starts writing it; returns
  // its message id, whose PUBACK next_event() reports. Never blocks.
  std::variant<int, Error> publish(const std::string& topic, std::string_view payload);

  // Subscribes to `filter` at QoS 1 on this connection (clean session: a
  // reconnect must subscribe again); returns its message id, whose SUBACK
  // next_event() reports (subscribed, with `error` set if the broker refused
  // it). Messages then arrive as events (message). Never blocks.
  std::variant<int, Error> subscribe(const std::string& filter);

  // Drives the socket (reads, writes, keepalive) until the next event: a
  // PUBACK (acked), a SUBACK (subscribed), an incoming message (message),
  // or the end of the connection (lost, reported once).
  // Cancel-safe: a cancelled wait loses no event and no byte.
  // Precondition: connected(), or a `lost` event still queued.
  boost::asio::awaitable<Event> next_event();

  // Closes the connection now, without waiting for anything. Idempotent.
  void disconnect() noexcept;
  bool connected() const noexcept;
  const ClientOptions& options() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::mqtt

// The MQTT client (client.hpp): libmosquitto's callbacks only record what
// happened (CONNACK code, PUBACKs, the drop) into this object; the owner's
// coroutine consumes it. The socket is watched with a stream_descriptor that
// never owns the fd (libmosquitto opens and closes it); after every library
// call the watched fd is re-synchronised with mosquitto_socket().
//
// Readiness: Asio's epoll reactor is edge-triggered and libmosquitto may
// leave bytes unread (it reads a bounded number of packets per call), so
// each pump step first asks poll() with a zero timeout whether the socket is
// ready now, and only waits on the reactor when it is not.
#include "weft/drivers/mqtt/client.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>

#include <poll.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <mosquitto.h>

#include "mosquitto_library.hpp"
#include "weft/core/timer_queue.hpp"
#include "weft/core/timers.hpp"

namespace weft::mqtt {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// How often loop_misc runs (keepalive PINGREQ, ping timeout): well under
// any keepalive a user can configure (>= 5 s).
constexpr Duration kMiscPeriod = std::chrono::seconds(1);

short ready_now(int fd, bool want_write) {
  pollfd p{fd, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
  return ::poll(&p, 1, 0) > 0 ? p.revents : 0;
}

Event event_of(Event::Kind kind, int mid, Error error) {
  Event e;
  e.kind = kind;
  e.mid = mid;
  e.error = std::move(error);
  return e;
}

int seconds_at_least_one(Duration d) {
  return static_cast<int>(std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

}  // namespace

struct Client::Impl {
  enum class Phase { idle, connecting, connected };

  Impl(asio::any_io_executor ex, TimerQueue& t, ClientOptions o)
      : timers(t), options(std::move(o)), socket(std::move(ex)) {}
  ~Impl() { close(); }

  TimerQueue& timers;
  ClientOptions options;
  const MosquittoLibrary* lib = nullptr;   // set by the first connect(); non-null whenever mosq is
  mosquitto* mosq = nullptr;               // one per connection attempt
  asio::posix::stream_descriptor socket;   // watches mosquitto's fd; released, never closed, here
  int watched_fd = -1;
  Phase phase = Phase::idle;
  std::optional<int> connack;              // CONNACK code of the current attempt
  int drop_rc = MOSQ_ERR_SUCCESS;          // why an attempt failed before CONNACK
  int drop_errno = 0;
  // PUBACKs, SUBACKs, incoming messages and at most one `lost`. Bounded:
  // the broker acks only messages in flight, publish() is refused once the
  // connection is gone, and pump() (the only reader) runs only when this is
  // empty, so incoming messages are at most one loop_read's worth (client.hpp).
  std::deque<Event> events;
  std::unordered_map<int, std::string> filters;  // subscribe() message id -> filter, until its SUBACK
  MonoTime next_misc{};
  int steps_without_wait_ = 0;  // pump steps in a row that found the socket ready without waiting

  static void on_connect(mosquitto*, void* self, int rc) { static_cast<Impl*>(self)->connack = rc; }
  static void on_disconnect(mosquitto*, void* self, int rc) { static_cast<Impl*>(self)->dropped(rc, errno); }
  static void on_publish(mosquitto*, void* self, int mid) {
    static_cast<Impl*>(self)->events.push_back(event_of(Event::Kind::acked, mid, {}));
  }
  // A granted QoS of 0x80 (MQTT 3.1.1) is the broker refusing the filter:
  // reported, never taken for a subscription that works.
  static void on_subscribe(mosquitto*, void* self, int mid, int qos_count, const int* granted) {
    Impl& m = *static_cast<Impl*>(self);
    Event e;
    e.kind = Event::Kind::subscribed;
    e.mid = mid;
    if (const auto it = m.filters.find(mid); it != m.filters.end()) {
      e.topic = it->second;
      m.filters.erase(it);
    }
    for (int i = 0; i < qos_count; ++i) {
      if (granted[i] >= 0 && granted[i] <= 2) continue;
      e.error = Error{make_error_code(errc::subscribe_refused), granted[i],
                      m.where() + " refused the subscription to '" + e.topic + "' (SUBACK 0x" +
                          fmt_hex(granted[i]) + "): nothing published there reaches this client; check the broker's "
                          "ACL (acl_file or its auth plugin): " + m.user_text() + " needs read access to '" + e.topic + "'"};
      break;
    }
    m.events.push_back(std::move(e));
  }
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg) {
    static_cast<Impl*>(self)->incoming(*msg);
  }

  void incoming(const mosquitto_message& msg) {
    if (phase != Phase::connected) return;
    Event e;
    e.kind = Event::Kind::message;
    e.topic = msg.topic != nullptr ? msg.topic : "";
    e.size = msg.payloadlen > 0 ? static_cast<std::size_t>(msg.payloadlen) : 0;
    if (e.size <= options.max_incoming_bytes && e.size > 0)
      e.payload.assign(static_cast<const char*>(msg.payload), e.size);
    e.retained = msg.retain;
    events.push_back(std::move(e));
  }

  std::string where() const { return "broker " + options.url.to_string(); }
  std::string user_text() const {
    return options.username.empty() ? std::string("an anonymous client") : "user '" + options.username + "'";
  }
  static std::string fmt_hex(int v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(v) & 0xffU);
    return buf;
  }

  void dropped(int rc, int err) {
    if (phase == Phase::connected) {
      lost(rc, err);
    } else if (phase == Phase::connecting) {
      drop_rc = rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc;
      drop_errno = err;
      phase = Phase::idle;
    }
  }

  void lost(int rc, int err) {
    if (phase != Phase::connected) return;
    phase = Phase::idle;
    events.push_back(event_of(Event::Kind::lost, 0,
                           Error{make_error_code(errc::connection_lost), rc,
                                 "connection to " + where() + " lost: " + describe_mosquitto_error(rc, err)}));
  }

  void release_socket() noexcept {
    if (watched_fd < 0) return;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    (void)socket.release();  // the fd stays libmosquitto's
    watched_fd = -1;
  }

  void sync_socket() {
    const int fd = mosq != nullptr ? lib->socket(mosq) : -1;
    if (fd == watched_fd) return;
    release_socket();
    if (fd < 0) return;
    boost::system::error_code ec;
    socket.assign(fd, ec);
    if (!ec) watched_fd = fd;
  }

  void close() noexcept {
    release_socket();
    if (mosq != nullptr) {
      Phase was = phase;
      phase = Phase::idle;  // a callback from inside destroy must not queue anything
      lib->destroy(mosq);
      mosq = nullptr;
      (void)was;
    }
    phase = Phase::idle;
  }

  // One step: waits (until `deadline` at most) for the socket or the
  // keepalive tick, then lets the library read, write and keep alive.
  asio::awaitable<void> pump(MonoTime deadline) {
    if (watched_fd < 0) {
      lost(MOSQ_ERR_NO_CONN, 0);
      co_return;
    }
    const bool want_write = lib->want_write(mosq);
    short ready = ready_now(watched_fd, want_write);
    const bool ready_without_wait = ready != 0;
    if (ready == 0) {
      steps_without_wait_ = 0;
      const MonoTime until = std::min(next_misc, deadline);
      auto on = asio::as_tuple(asio::use_awaitable);
      if (want_write) {
        auto r = co_await (socket.async_wait(asio::posix::descriptor_base::wait_read, on) ||
                           socket.async_wait(asio::posix::descriptor_base::wait_write, on) ||
                           expires_at(timers, until));
        ready = r.index() == 0 ? POLLIN : r.index() == 1 ? POLLOUT : 0;
      } else {
        auto r = co_await (socket.async_wait(asio::posix::descriptor_base::wait_read, on) || expires_at(timers, until));
        ready = r.index() == 0 ? POLLIN : 0;
      }
    }
    // Read on any readiness: during a TLS handshake only loop_read advances
    // it (loop_write does nothing until the handshake is done), and a
    // recv() that finds nothing is harmless (EAGAIN).
    int rc = MOSQ_ERR_SUCCESS;
    if (ready != 0) rc = lib->loop_read(mosq, 1);
    if (rc == MOSQ_ERR_SUCCESS && (ready & POLLOUT) != 0 && lib->socket(mosq) >= 0)
      rc = lib->loop_write(mosq, 1);
    const MonoTime now = timers.clock().now();
    if (rc == MOSQ_ERR_SUCCESS && now >= next_misc && lib->socket(mosq) >= 0) {
      rc = lib->loop_misc(mosq);
      next_misc = now + kMiscPeriod;
    }
    const int err = errno;
    // Some failures (a TLS handshake error) come back only as a return
    // code: no callback, the socket left open and readable for ever.
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && phase != Phase::idle) {
      if (phase == Phase::connecting) dropped(rc, err);
      else lost(rc, err);
      close();  // the session is over: drop it (and its socket) now
    }
    sync_socket();
    if (watched_fd < 0) lost(MOSQ_ERR_CONN_LOST, 0);  // closed without telling us
    // A socket that is ready at once every time must not hold the loop.
    if (ready_without_wait && ++steps_without_wait_ >= 64) {
      steps_without_wait_ = 0;
      co_await asio::post(socket.get_executor(), asio::use_awaitable);
    }
  }

  // Creates the libmosquitto session for one attempt; false: `error` says why.
  bool create_session(Error& error) {
    mosq = lib->create(options.client_id.empty() ? nullptr : options.client_id.c_str(), true, this);
    if (mosq == nullptr) {
      error = Error{make_error_code(errc::bad_option), MOSQ_ERR_ERRNO,
                    "cannot create an MQTT client with client_id '" + options.client_id +
                        "': " + std::strerror(errno) + "; use 1-23 letters and digits"};
      return false;
    }
    lib->connect_callback_set(mosq, &Impl::on_connect);
    lib->disconnect_callback_set(mosq, &Impl::on_disconnect);
    lib->publish_callback_set(mosq, &Impl::on_publish);
    lib->subscribe_callback_set(mosq, &Impl::on_subscribe);
    lib->message_callback_set(mosq, &Impl::on_message);
    lib->int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    lib->max_inflight_messages_set(mosq, options.max_in_flight);
    if (!options.username.empty()) {
      const int rc = lib->username_pw_set(mosq, options.username.c_str(),
                                               options.password.empty() ? nullptr : options.password.c_str());
      if (rc != MOSQ_ERR_SUCCESS) {
        error = Error{make_error_code(errc::bad_option), rc,
                      "username for " + where() + " rejected: " + describe_mosquitto_error(rc, errno)};
        return false;
      }
    }
    return true;
  }

  // Runs on the blocking pool: TLS files are read and the host is resolved here.
  void start_connect(int& rc, int& saved_errno, bool& tls_failed) {
    if (options.url.tls) {
      const char* ca = options.ca_file.empty() ? nullptr : options.ca_file.c_str();
      const char* ca_path = ca == nullptr ? "/etc/ssl/certs" : nullptr;
      rc = lib->tls_set(mosq, ca, ca_path, options.cert_file.empty() ? nullptr : options.cert_file.c_str(),
                             options.key_file.empty() ? nullptr : options.key_file.c_str(), nullptr);
      if (rc != MOSQ_ERR_SUCCESS) {
        saved_errno = errno;
        tls_failed = true;
        return;
      }
    }
    errno = 0;
    rc = lib->connect_async(mosq, options.url.host.c_str(), options.url.port,
                                 seconds_at_least_one(options.keepalive));
    saved_errno = errno;
  }
};

Client::Client(asio::any_io_executor executor, TimerQueue& timers, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), timers, std::move(options))) {}

Client::~Client() = default;

const ClientOptions& Client::options() const noexcept { return impl_->options; }
bool Client::connected() const noexcept { return impl_->phase == Impl::Phase::connected; }

void Client::disconnect() noexcept {
  impl_->close();
  impl_->events.clear();
  impl_->filters.clear();
}

asio::awaitable<Error> Client::connect(const BlockingRunner& blocking) {
  Impl& m = *impl_;
  disconnect();
  Error error;
  if (m.lib == nullptr) {
    std::string load_error;
    m.lib = mosquitto_library_if_loaded();
    if (m.lib == nullptr) co_await blocking([&] { m.lib = mosquitto_library(load_error); });
    if (m.lib == nullptr)
      co_return Error{make_error_code(errc::no_library), 0, "cannot connect to " + m.where() + ": " + load_error};
    // The load is not cancellable: a stop that landed while it ran must not
    // start the next blocking step (a DNS lookup that may take seconds).
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted, "mqtt connect");
  }
  if (!m.create_session(error)) {
    m.close();
    co_return error;
  }
  int rc = MOSQ_ERR_SUCCESS, saved_errno = 0;
  bool tls_failed = false;
  co_await blocking([&] { m.start_connect(rc, saved_errno, tls_failed); });
  if (rc != MOSQ_ERR_SUCCESS) {
    m.close();
    if (tls_failed)
      co_return Error{make_error_code(errc::bad_option), rc,
                      "TLS setup for " + m.where() + " failed (ca_file '" + m.options.ca_file + "', cert_file '" +
                          m.options.cert_file + "', key_file '" + m.options.key_file +
                          "'): " + describe_mosquitto_error(rc, saved_errno) +
                          "; check that the files exist, are readable and that cert and key go together"};
    co_return Error{make_error_code(errc::unreachable), rc,
                    "cannot connect to " + m.where() + ": " + describe_mosquitto_error(rc, saved_errno)};
  }

  m.phase = Impl::Phase::connecting;
  m.connack.reset();
  m.drop_rc = MOSQ_ERR_SUCCESS;
  m.drop_errno = 0;
  m.sync_socket();
  const MonoTime now = m.timers.clock().now();
  const MonoTime deadline = now + m.options.connect_timeout;
  m.next_misc = now + kMiscPeriod;
  try {
    while (!m.connack && m.phase == Impl::Phase::connecting && m.timers.clock().now() < deadline)
      co_await m.pump(deadline);
  } catch (...) {
    m.close();  // cancelled: leave the client idle
    throw;
  }
  if (m.connack && *m.connack == 0 && m.phase == Impl::Phase::connecting) {
    m.phase = Impl::Phase::connected;
    co_return Error{};
  }
  if (m.connack) {
    error = Error{make_error_code(errc::refused), *m.connack,
                  m.where() + " refused the connection: " + describe_connack(*m.connack) + " (CONNACK " +
                      std::to_string(*m.connack) + ")"};
  } else if (m.phase != Impl::Phase::connecting) {
    error = Error{make_error_code(errc::unreachable), m.drop_rc,
                  "cannot connect to " + m.where() + ": " + describe_mosquitto_error(m.drop_rc, m.drop_errno) +
                      (m.drop_rc == MOSQ_ERR_TLS ? " (TLS handshake failed: check that ca_file signed the broker's "
                                                   "certificate and that the certificate names the URL's host)"
                                                 : "")};
  } else {
    error = Error{make_error_code(errc::timeout), 0,
                  "no CONNACK from " + m.where() + " within " +
                      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(m.options.connect_timeout).count()) +
                      " ms; is it an MQTT broker?"};
  }
  m.close();
  m.events.clear();
  co_return error;
}

std::variant<int, Error> Client::publish(const std::string& topic, std::string_view payload) {
  Impl& m = *impl_;
  if (m.phase != Impl::Phase::connected)
    return Error{make_error_code(errc::not_connected), MOSQ_ERR_NO_CONN, "not connected to " + m.where()};
  int mid = 0;
  errno = 0;
  const int rc = m.lib->publish(m.mosq, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1,
                                   false);
  const int saved_errno = errno;
  m.sync_socket();
  if (rc == MOSQ_ERR_SUCCESS) return mid;
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
    m.lost(rc, saved_errno);  // the socket broke while writing: the connection is over
    return Error{make_error_code(errc::connection_lost), rc,
                 "publish to " + m.where() + " failed: " + describe_mosquitto_error(rc, saved_errno)};
  }
  return Error{make_error_code(errc::publish_failed), rc,
               "publish of " + std::to_string(payload.size()) + " bytes to '" + topic + "' on " + m.where() +
                   " failed: " + describe_mosquitto_error(rc, saved_errno)};
}

std::variant<int, Error> Client::subscribe(const std::string& filter) {
  Impl& m = *impl_;
  if (m.phase != Impl::Phase::connected)
    return Error{make_error_code(errc::not_connected), MOSQ_ERR_NO_CONN, "not connected to " + m.where()};
  int mid = 0;
  errno = 0;
  const int rc = m.lib->subscribe(m.mosq, &mid, filter.c_str(), 1);
  const int saved_errno = errno;
  m.sync_socket();
  if (rc == MOSQ_ERR_SUCCESS) {
    m.filters[mid] = filter;
    return mid;
  }
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
    m.lost(rc, saved_errno);
    return Error{make_error_code(errc::connection_lost), rc,
                 "subscribe on " + m.where() + " failed: " + describe_mosquitto_error(rc, saved_errno)};
  }
  return Error{make_error_code(errc::bad_option), rc,
               "subscribe to '" + filter + "' on " + m.where() + " failed: " + describe_mosquitto_error(rc, saved_errno)};
}

asio::awaitable<Event> Client::next_event() {
  Impl& m = *impl_;
  for (;;) {
    // A cancelled wait must not consume an event: the winner of an `||`
    // race discards the loser's result.
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
    if (!m.events.empty()) {
      Event e = std::move(m.events.front());
      m.events.pop_front();
      co_return e;
    }
    if (m.phase != Impl::Phase::connected)
      co_return event_of(Event::Kind::lost, 0,
                         Error{make_error_code(errc::not_connected), MOSQ_ERR_NO_CONN, "not connected to " + m.where()});
    co_await m.pump(MonoTime::max());
  }
}

}  // namespace weft::mqtt

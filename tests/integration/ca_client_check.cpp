// ca_client_check: weft's CA client functions (drivers/ca client_*,
// circuit_reader, search_schedule, beacon_watcher) against a real CA server,
// a weftd with the `ca` service on loopback (the server that is itself
// tested against Debian's libca). Over real sockets: UDP search paced by the
// SearchSchedule -> reply -> TCP circuit -> hello -> CREATE_CHAN ->
// READ_NOTIFY DBR_CTRL_DOUBLE (metadata) -> EVENT_ADD DBR_TIME_DOUBLE ->
// WRITE_NOTIFY -> the update with the written value arrives; a reply above
// a small max_array_bytes is refused by the decoder and the circuit goes on
// (ECHO answered); beacons read on the repeater port. Then, when the script
// restarts weftd on the same port: the circuit's end is seen, the restarted
// server's beacons are an anomaly for the BeaconWatcher, the name is boosted
// in the schedule, found again, and read on a new circuit.
//
// Usage: ca_client_check PORT STATE_DIR
//   prints progress lines; "waiting for restart" then waits (bounded) for
//   the circuit to end; exits 0 after "PASS", 1 with "FAIL: ..." otherwise.
// Every wait is bounded by a deadline; blocking sockets with poll() are fine
// here: this is a test program, not the loop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "weft/drivers/ca/beacon_watcher.hpp"
#include "weft/drivers/ca/circuit_reader.hpp"
#include "weft/drivers/ca/client_channel.hpp"
#include "weft/drivers/ca/client_search.hpp"
#include "weft/drivers/ca/search_schedule.hpp"

namespace ca = weft::ca;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int udp_socket(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno_text("socket"));
  const sockaddr_in a = loopback(port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    fail(errno_text(("bind udp 127.0.0.1:" + std::to_string(port)).c_str()));
  }
  return fd;
}

// Waits up to `timeout` for one of `fds` to be readable; returns its index or -1.
int wait_readable(const std::vector<int>& fds, Clock::duration timeout) {
  std::vector<pollfd> p;
  for (const int fd : fds) p.push_back(pollfd{fd, POLLIN, 0});
  const auto ms = std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  const int n = ::poll(p.data(), p.size(), static_cast<int>(std::min<long long>(ms, 1000)));
  if (n < 0 && errno != EINTR) fail(errno_text("poll"));
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i].revents & (POLLIN | POLLERR | POLLHUP)) return static_cast<int>(i);
  }
  return -1;
}

struct Datagram {
  std::vector<std::uint8_t> bytes;
  ca::ServerAddress from;
};

Datagram receive(int fd) {
  Datagram d;
  d.bytes.resize(0x10000);
  sockaddr_in from{};
  socklen_t len = sizeof from;
  const ssize_t n = ::recvfrom(fd, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
  if (n < 0) fail(errno_text("recvfrom"));
  d.bytes.resize(static_cast<std::size_t>(n));
  d.from = ca::ServerAddress{ntohl(from.sin_addr.s_addr), ntohs(from.sin_port)};
  return d;
}

// The client's UDP side: searches paced by the schedule, beacons watched.
class Resolver {
public:
  Resolver(std::uint16_t server_port, std::uint16_t beacon_port)
      : server_port_(server_port), search_fd_(udp_socket(0)), beacon_fd_(udp_socket(beacon_port)),
        schedule_(config(), Clock::now()), watcher_(Clock::now()) {}
  // The governor never releases within the test: after the restart only a
  // beacon anomaly's boost() can bring the name back to the searches.
  static ca::SearchScheduleConfig config() {
    ca::SearchScheduleConfig c;
    c.disconnect_governor_period = std::chrono::hours(1);
    return c;
  }
  ~Resolver() {
    ::close(search_fd_);
    ::close(beacon_fd_);
  }

  void want(std::uint32_t id, const std::string& name, bool disconnected) {
    name_ = name;
    id_ = id;
    const bool added = disconnected ? schedule_.add_disconnected(id, name.size(), Clock::now())
                                    : schedule_.add(id, name.size(), Clock::now());
    if (!added) fail("the schedule refused " + name);
  }

  // Serves both sockets until the wanted name is found or `deadline`.
  ca::ServerAddress find(Clock::time_point deadline) {
    while (Clock::now() < deadline) {
      for (const auto& d : schedule_.take_due(Clock::now())) {
        std::vector<ca::SearchEntry> entries;
        for (const std::uint32_t id : d.ids) entries.push_back({id, name_});
        for (const auto& g : ca::build_search_datagrams(entries, d.sequence)) {
          const sockaddr_in to = loopback(server_port_);
          if (::sendto(search_fd_, g.bytes.data(), g.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                       sizeof to) < 0) {
            fail(errno_text("sendto"));
          }
          ++searches_sent;
        }
      }
      const auto due = schedule_.next_due().value_or(deadline);
      const int ready = wait_readable({search_fd_, beacon_fd_}, std::min(due, deadline) - Clock::now());
      if (ready == 0) {
        const Datagram d = receive(search_fd_);
        const ca::SearchReplies r = ca::decode_search_replies(d.bytes, d.from, server_port_);
        if (r.error) fail("search reply: " + r.error->message());
        for (const auto& f : r.found) {
          if (f.search_id == id_ && schedule_.lane_of(id_)) {
            schedule_.found(id_, r.sequence, Clock::now());
            return f.server;
          }
        }
      } else if (ready == 1) {
        on_beacons();
      }
    }
    fail("no search reply for " + name_ + " before the deadline (" + std::to_string(searches_sent) +
         " search datagrams sent)");
  }

  // Reads beacons that are waiting, without blocking.
  void on_beacons() {
    while (wait_readable({beacon_fd_}, 0ms) == 0) {
      const Datagram d = receive(beacon_fd_);
      const ca::Beacons b = ca::decode_beacons(d.bytes, d.from, server_port_);
      if (b.error) fail("beacon: " + b.error->message());
      for (const auto& seen : b.beacons) {
        const ca::BeaconVerdict v = watcher_.on_beacon(seen, Clock::now());
        ++beacons;
        if (seen.server != ca::ServerAddress{INADDR_LOOPBACK, server_port_}) {
          fail("a beacon names " + ca::to_string(seen.server) + ", not the server");
        }
        if (ca::is_anomaly(v)) {
          ++anomalies;
          std::cout << "beacon " << seen.beacon_id << ": " << ca::to_string(v) << "\n";
          // The gateway's rule: names last on that server are searched at once.
          if (schedule_.boost(id_, Clock::now())) ++boosts;
        }
      }
    }
  }

  ca::BeaconWatcher& watcher() { return watcher_; }
  int beacon_fd() const { return beacon_fd_; }

  int searches_sent = 0;
  int beacons = 0;
  int anomalies = 0;
  int boosts = 0;

private:
  std::uint16_t server_port_;
  int search_fd_;
  int beacon_fd_;
  ca::SearchSchedule schedule_;
  ca::BeaconWatcher watcher_;
  std::string name_;
  std::uint32_t id_ = 0;
};

struct Eof {};

class Circuit {
public:
  explicit Circuit(ca::ServerAddress server) : reader_(limits_) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail(errno_text("socket"));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port);
    a.sin_addr.s_addr = htonl(server.ip);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      fail(errno_text(("connect " + ca::to_string(server)).c_str()));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Circuit() { ::close(fd_); }
  Circuit(const Circuit&) = delete;
  Circuit& operator=(const Circuit&) = delete;

  void send(const std::vector<std::uint8_t>& bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
      if (n < 0) fail(errno_text("send"));
      at += static_cast<std::size_t>(n);
    }
  }

  // The next message from the server; throws Eof when the circuit ends.
  ca::Response next(Clock::time_point deadline, const std::string& waiting_for) {
    while (true) {
      auto n = reader_.next();
      if (auto* f = std::get_if<ca::Frame>(&n)) {
        auto d = ca::decode_response(*f, limits_);
        if (auto* e = std::get_if<ca::Error>(&d)) fail("circuit: " + e->message());
        return std::get<ca::Response>(d);
      }
      if (auto* b = std::get_if<ca::Broken>(&n)) fail("circuit broken: " + b->error.message());
      if (std::holds_alternative<ca::Refused>(n)) fail("a message above the limits from weftd");
      if (Clock::now() >= deadline) fail("no " + waiting_for + " before the deadline");
      if (wait_readable({fd_}, deadline - Clock::now()) != 0) continue;
      std::uint8_t buf[8192];
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got == 0 || (got < 0 && (errno == ECONNRESET || errno == EPIPE))) throw Eof{};
      if (got < 0) fail(errno_text("recv"));
      reader_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(got)));
    }
  }

  // Reads what arrives for up to `slice` (messages are dropped); true once
  // the server has closed the circuit.
  bool ended_within(Clock::duration slice) {
    if (wait_readable({fd_}, slice) != 0) return false;
    std::uint8_t buf[8192];
    const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got == 0 || (got < 0 && (errno == ECONNRESET || errno == EPIPE))) return true;
    if (got < 0) fail(errno_text("recv"));
    reader_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(got)));
    while (!std::holds_alternative<ca::NeedMore>(reader_.next())) {
    }
    return false;
  }

  template <class T>
  T expect(Clock::time_point deadline, const std::string& what) {
    const ca::Response r = next(deadline, what);
    if (const auto* e = std::get_if<ca::ErrorMessage>(&r)) fail(what + ": " + ca::read_error(*e).message());
    if (!std::holds_alternative<T>(r)) {
      fail("expected " + what + ", got " + std::string(ca::to_string(ca::command_of(r))));
    }
    return std::get<T>(r);
  }

  ca::Limits limits_;

private:
  int fd_ = -1;
  ca::CircuitReader reader_;
};

// Hello, the server's VERSION, CREATE_CHAN and its answers.
ca::ChannelInfo connect_channel(Circuit& c, std::uint32_t cid, const std::string& name, Clock::time_point deadline) {
  std::vector<std::uint8_t> out;
  ca::append_hello(out, ca::Hello{0, "caclient", "test"});
  ca::append_create_channel(out, cid, name);
  c.send(out);
  const auto version = c.expect<ca::Version>(deadline, "the server's VERSION");
  ca::PendingChannel pending{cid, name, version.minor, std::nullopt};
  while (true) {
    const ca::Response r = c.next(deadline, "the CREATE_CHAN reply");
    const ca::CreateOutcome o = ca::on_create_response(pending, r);
    if (const auto* info = std::get_if<ca::ChannelInfo>(&o)) return *info;
    if (std::holds_alternative<ca::ChannelRefused>(o)) fail("CREATE_CH_FAIL for " + name);
    if (const auto* e = std::get_if<ca::Error>(&o)) fail(e->message());
  }
}

double scalar(const ca::Reading& r) {
  const auto* v = std::get_if<std::vector<double>>(&r.value.elements);
  if (v == nullptr || v->size() != 1) fail("not one number");
  return v->front();
}

void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
  std::cout << "ok: " << what << "\n" << std::flush;
}

int run(std::uint16_t port) {
  const std::string name = "soft:sp:flow";
  const std::string text_name = "soft:sp:note";
  Resolver resolver(port, static_cast<std::uint16_t>(port + 1));
  auto deadline = Clock::now() + 20s;

  resolver.want(1, name, false);
  const ca::ServerAddress server = resolver.find(deadline);
  check(server == (ca::ServerAddress{INADDR_LOOPBACK, port}), "search reply names " + ca::to_string(server));

  auto circuit = std::make_unique<Circuit>(server);
  resolver.watcher().circuit_up(server);
  const ca::ChannelInfo ch = connect_channel(*circuit, 1, name, deadline);
  check(ch.native_type == ca::ValueType::float64 && ch.count == 1 && ch.server_minor == 13,
        "CREATE_CHAN reply: DOUBLE, count 1, server minor 13");
  check(ch.rights == (ca::access_read | ca::access_write), "ACCESS_RIGHTS read and write");

  std::vector<std::uint8_t> out;
  ca::append_read(out, ch, ca::ctrl_type(ch.native_type), 10);
  circuit->send(out);
  const auto ctrl_reply = circuit->expect<ca::ReadNotifyReply>(deadline, "READ_NOTIFY reply");
  const auto ctrl = ca::decode_reading(ctrl_reply, ca::Expected{ca::ctrl_type(ch.native_type), ch.count}, circuit->limits_);
  if (auto* e = std::get_if<ca::Error>(&ctrl)) fail(e->message());
  const ca::Reading& meta = std::get<ca::Reading>(ctrl);
  check(ctrl_reply.ioid == 10 && scalar(meta) == 2.5, "READ_NOTIFY DBR_CTRL_DOUBLE: 2.5");
  check(meta.value.meta.units == "l/min" && meta.value.meta.upper_disp == 10 && meta.value.meta.upper_warning == 8 &&
            meta.value.meta.upper_alarm == 9,
        "CTRL metadata: units l/min, display high 10, high 8, hihi 9");

  out.clear();
  const std::uint16_t time_double = ca::time_type(ch.native_type);
  ca::append_subscribe(out, ch, time_double, 20, ca::dbe_value | ca::dbe_alarm);
  circuit->send(out);
  const auto first = circuit->expect<ca::EventUpdate>(deadline, "the first monitor update");
  const auto first_r = ca::decode_reading(first, ca::Expected{time_double, ch.count}, circuit->limits_);
  if (auto* e = std::get_if<ca::Error>(&first_r)) fail(e->message());
  check(first.subscription_id == 20 && scalar(std::get<ca::Reading>(first_r)) == 2.5 &&
            std::get<ca::Reading>(first_r).value.stamp.sec_past_epoch > 0,
        "EVENT_ADD DBR_TIME_DOUBLE: first update 2.5 with a time stamp");

  out.clear();
  if (auto e = ca::append_write_notify(out, ch, 30, std::vector<double>{3.25}, ca::ValueType::float64, circuit->limits_)) {
    fail(e->message());
  }
  circuit->send(out);
  bool written = false, updated = false;
  while (!written || !updated) {
    const ca::Response r = circuit->next(deadline, "the write's reply and update");
    if (const auto* w = std::get_if<ca::WriteNotifyReply>(&r)) {
      if (auto why = ca::write_failure(*w)) fail("WRITE_NOTIFY refused: " + *why);
      written = w->ioid == 30;
    } else if (const auto* u = std::get_if<ca::EventUpdate>(&r)) {
      const auto g = ca::decode_reading(*u, ca::Expected{time_double, ch.count}, circuit->limits_);
      if (auto* e = std::get_if<ca::Error>(&g)) fail(e->message());
      updated = scalar(std::get<ca::Reading>(g)) == 3.25;
    } else if (const auto* e = std::get_if<ca::ErrorMessage>(&r)) {
      fail(ca::read_error(*e).message());
    }
  }
  check(true, "WRITE_NOTIFY 3.25 answered ECA_NORMAL, the monitor update carries 3.25");

  // A string channel read with a max_array_bytes below one string: the
  // decoder refuses the reply, the circuit goes on.
  const ca::ChannelInfo text = [&] {
    std::vector<std::uint8_t> o;
    ca::append_create_channel(o, 2, text_name);
    circuit->send(o);
    ca::PendingChannel p{2, text_name, ch.server_minor, std::nullopt};
    while (true) {
      const ca::CreateOutcome c = ca::on_create_response(p, circuit->next(deadline, "CREATE_CHAN reply"));
      if (const auto* info = std::get_if<ca::ChannelInfo>(&c)) return *info;
      if (!std::holds_alternative<ca::ChannelWaiting>(c)) fail("creating " + text_name + " failed");
    }
  }();
  out.clear();
  ca::append_read(out, text, ca::time_type(text.native_type), 40);
  circuit->send(out);
  const auto text_reply = circuit->expect<ca::ReadNotifyReply>(deadline, "READ_NOTIFY of the text");
  ca::Limits tiny;
  tiny.max_array_bytes = 16;
  const auto refused = ca::decode_reading(text_reply, ca::Expected{ca::time_type(text.native_type), text.count}, tiny);
  check(std::holds_alternative<ca::Error>(refused) && std::get<ca::Error>(refused).code == ca::errc::too_large,
        "a reply above max_array_bytes is refused: " +
            (std::holds_alternative<ca::Error>(refused) ? std::get<ca::Error>(refused).message() : std::string("?")));
  const auto text_ok = ca::decode_reading(text_reply, ca::Expected{ca::time_type(text.native_type), text.count}, circuit->limits_);
  check(std::holds_alternative<ca::Reading>(text_ok) &&
            std::get<std::vector<std::string>>(std::get<ca::Reading>(text_ok).value.elements) ==
                std::vector<std::string>{"hello"},
        "the same reply within the limit: \"hello\"");
  out.clear();
  ca::encode(out, ca::Echo{});
  circuit->send(out);
  circuit->expect<ca::Echo>(deadline, "ECHO");
  check(true, "ECHO answered after the refusal");

  // Beacons from the running server: seen and judged.
  const auto beacon_deadline = Clock::now() + 5s;
  while (resolver.beacons < 2 && Clock::now() < beacon_deadline) {
    if (wait_readable({resolver.beacon_fd()}, 200ms) == 0) resolver.on_beacons();
  }
  check(resolver.beacons >= 2, "beacons received on the repeater port: " + std::to_string(resolver.beacons));

  // The restart: the script restarts weftd on the same port.
  const int anomalies_before = resolver.anomalies;
  std::cout << "waiting for restart\n" << std::flush;
  deadline = Clock::now() + 30s;
  while (!circuit->ended_within(200ms)) {
    resolver.on_beacons();
    if (Clock::now() >= deadline) fail("the circuit did not end within 30 s of \"waiting for restart\"");
  }
  circuit.reset();
  resolver.watcher().circuit_down(server);
  check(true, "the circuit ended with the server");
  // As the gateway would: the name is disconnected and waits in the governor
  // (an hour here) until the restarted server's beacons say search it now.
  resolver.want(1, name, true);
  const auto again_at = Clock::now();
  const ca::ServerAddress again = resolver.find(Clock::now() + 30s);
  const double took = std::chrono::duration<double>(Clock::now() - again_at).count();
  check(again == server, "found again after the restart, " + std::to_string(took) + " s after the circuit ended");
  check(resolver.anomalies > anomalies_before && resolver.boosts > 0,
        "the restarted server's beacons were an anomaly (" + std::to_string(resolver.anomalies - anomalies_before) +
            ") and boosted the search");
  auto second = std::make_unique<Circuit>(again);
  const ca::ChannelInfo ch2 = connect_channel(*second, 1, name, Clock::now() + 10s);
  out.clear();
  ca::append_read(out, ch2, time_double, 11);
  second->send(out);
  const auto r2 = second->expect<ca::ReadNotifyReply>(Clock::now() + 10s, "READ_NOTIFY after the restart");
  const auto g2 = ca::decode_reading(r2, ca::Expected{time_double, ch2.count}, second->limits_);
  check(std::holds_alternative<ca::Reading>(g2), "READ_NOTIFY on the new circuit");
  out.clear();
  ca::append_clear_channel(out, ch2);
  second->send(out);
  const auto cleared = second->expect<ca::ClearChannelReply>(Clock::now() + 10s, "CLEAR_CHANNEL reply");
  check(cleared.sid == ch2.sid && cleared.cid == ch2.cid, "CLEAR_CHANNEL echoed");
  std::cout << "PASS\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ca_client_check PORT\n";
    return 2;
  }
  try {
    return run(static_cast<std::uint16_t>(std::stoi(argv[1])));
  } catch (const std::exception& e) {
    std::cout << "FAIL: " << e.what() << "\n";
  } catch (const Eof&) {
    std::cout << "FAIL: the circuit ended unexpectedly\n";
  }
  return 1;
}

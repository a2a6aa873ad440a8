// See ca_clients.hpp.
#include "ca_clients.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <variant>

namespace weft::bench {

namespace {
constexpr std::size_t kReadBuffer = 256 * 1024;  // one read takes at most this; a reply is far smaller

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }
}  // namespace

CaCircuit::CaCircuit(int index, std::uint16_t port, const std::string& user, const std::string& host)
    : index_(index), in_(kReadBuffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    fail(errno_text(("connect to 127.0.0.1:" + std::to_string(port)).c_str()));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as libca does
  const int flags = ::fcntl(fd_, F_GETFL);
  ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  send(ca::Version{0, ca::minor_version, 0});
  send(ca::ClientName{user});
  send(ca::HostName{host});
}

CaCircuit::~CaCircuit() {
  if (fd_ >= 0) ::close(fd_);
}

void CaCircuit::fail(const std::string& what) const {
  throw std::runtime_error("CA circuit " + std::to_string(index_) + ": " + what);
}

void CaCircuit::flush() {
  while (sent_ < out_.size()) {
    const ssize_t n = ::send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      fail(errno_text("send"));
    }
    sent_ += static_cast<std::size_t>(n);
  }
  out_.clear();
  sent_ = 0;
}

void CaCircuit::read() {
  const ssize_t n = ::recv(fd_, in_.data() + have_, in_.size() - have_, 0);
  if (n == 0) fail("the server closed the circuit");
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail(errno_text("recv"));
  }
  counts_.bytes_in += static_cast<std::uint64_t>(n);
  have_ += static_cast<std::size_t>(n);
  std::size_t at = 0;
  for (;;) {
    const auto scanned = ca::scan_frame(std::span<const std::uint8_t>(in_.data() + at, have_ - at), limits_);
    if (std::holds_alternative<ca::NeedMore>(scanned)) break;
    if (const auto* e = std::get_if<ca::Error>(&scanned)) fail("malformed reply: " + e->message());
    const ca::Frame& f = std::get<ca::Frame>(scanned);
    const auto decoded = ca::decode_response(f, limits_);
    if (const auto* e = std::get_if<ca::Error>(&decoded)) fail("undecodable reply: " + e->message());
    on(std::get<ca::Response>(decoded));
    at += f.length;
  }
  if (at > 0) {
    std::memmove(in_.data(), in_.data() + at, have_ - at);
    have_ -= at;
  }
  if (have_ == in_.size()) fail("a reply larger than the read buffer");
}

void CaCircuit::on(const ca::Response& r) {
  if (const auto* u = std::get_if<ca::EventUpdate>(&r)) {
    if (u->status != ca::Eca::normal)
      fail("monitor update " + std::to_string(u->subscription_id) + " with " + std::string(ca::to_string(u->status)));
    if (u->subscription_id >= sids_.size()) fail("an update for unknown subscription " + std::to_string(u->subscription_id));
    ++counts_.updates;
    return;
  }
  if (const auto* c = std::get_if<ca::CreateChanReply>(&r)) {
    if (c->cid >= sids_.size()) fail("CREATE_CHAN reply for unknown CID " + std::to_string(c->cid));
    sids_[c->cid] = c->sid;
    ++counts_.created;
    return;
  }
  if (std::holds_alternative<ca::Echo>(r)) {
    ++counts_.echoes;
    return;
  }
  if (const auto* f = std::get_if<ca::CreateChFail>(&r)) fail("CREATE_CH_FAIL for CID " + std::to_string(f->cid));
  if (const auto* e = std::get_if<ca::ErrorMessage>(&r))
    fail("ERROR " + std::string(ca::to_string(e->status)) + ": " + e->text);
  if (std::holds_alternative<ca::ServerDisconn>(r)) fail("SERVER_DISCONN");
  // VERSION, ACCESS_RIGHTS, EVENT_ADD's cancel confirmation: nothing to count.
}

CircuitSet::CircuitSet() {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(errno_text("epoll_create1"));
}

CircuitSet::~CircuitSet() {
  circuits_.clear();
  ::close(epoll_);
}

CaCircuit& CircuitSet::add(std::uint16_t port, const std::string& user, const std::string& host) {
  auto c = std::make_unique<CaCircuit>(static_cast<int>(circuits_.size()), port, user, host);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = circuits_.size();
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd(), &ev) != 0) throw std::runtime_error(errno_text("epoll_ctl"));
  circuits_.push_back(std::move(c));
  return *circuits_.back();
}

void CircuitSet::close_all() { circuits_.clear(); }  // a closed fd leaves the epoll by itself

bool CircuitSet::run(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done) {
  epoll_event events[256];
  for (;;) {
    bool pending_output = false;
    for (auto& c : circuits_) {
      if (!c->has_output()) continue;
      c->flush();
      pending_output = pending_output || c->has_output();
    }
    if (done && done()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return done ? done() : false;
    // With output still queued, come back soon to push more (no EPOLLOUT
    // bookkeeping: requests are only queued in the set-up phases).
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
    const int timeout = pending_output ? 1 : static_cast<int>(std::min<long long>(left, 50));
    const int n = ::epoll_wait(epoll_, events, 256, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(errno_text("epoll_wait"));
    }
    for (int i = 0; i < n; ++i) circuits_[events[i].data.u64]->read();
  }
}

CircuitCounts CircuitSet::totals() const {
  CircuitCounts t;
  for (const auto& c : circuits_) {
    t.updates += c->counts().updates;
    t.created += c->counts().created;
    t.echoes += c->counts().echoes;
    t.bytes_in += c->counts().bytes_in;
  }
  return t;
}

}  // namespace weft::bench

// The `ca` benchmark's Channel Access clients: many circuits in one thread
// of the bench, over non-blocking loopback TCP sockets and one epoll,
// speaking CA 4.13 through weft's own codec (drivers/ca: every request
// encoded by it, every reply found with scan_frame and decoded with
// decode_response). A circuit counts what it received (monitor updates,
// channel replies, errors, echoes); it times nothing. Any malformed reply,
// ERROR, refused channel or closed circuit is a failure of the run: run()
// throws saying which circuit and what, so no figure is printed from a run
// that did not do what it says.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/drivers/ca/framing.hpp"
#include "weft/drivers/ca/messages.hpp"

namespace weft::bench {

struct CircuitCounts {
  std::uint64_t updates = 0;   // EVENT_ADD replies carrying data (monitor updates) with ECA_NORMAL
  std::uint64_t created = 0;   // CREATE_CHAN replies
  std::uint64_t echoes = 0;    // ECHO replies
  std::uint64_t bytes_in = 0;  // every byte received
};

// One circuit to 127.0.0.1:port: connected at construction (blocking, on
// loopback), then non-blocking. The handshake libca sends (VERSION at
// priority 0, CLIENT_NAME, HOST_NAME) is queued at once.
class CaCircuit {
public:
  CaCircuit(int index, std::uint16_t port, const std::string& user, const std::string& host);
  ~CaCircuit();
  CaCircuit(const CaCircuit&) = delete;
  CaCircuit& operator=(const CaCircuit&) = delete;

  int fd() const noexcept { return fd_; }
  // Queues one request (sent by flush()).
  template <class M>
  void send(const M& m) {
    ca::encode(out_, m);
  }
  bool has_output() const noexcept { return sent_ < out_.size(); }
  // Writes queued requests as far as the socket takes them; throws if it fails.
  void flush();
  // One read (what the socket holds, up to the buffer), then every whole
  // reply in it is decoded and counted; throws on EOF, garbage or a refusal.
  void read();

  const CircuitCounts& counts() const noexcept { return counts_; }
  // The SID the server gave the channel created with CID `cid` (0: none yet).
  std::uint32_t sid(std::uint32_t cid) const noexcept { return cid < sids_.size() ? sids_[cid] : 0; }
  void expect_channels(std::size_t n) { sids_.assign(n, 0); }

private:
  [[noreturn]] void fail(const std::string& what) const;
  void on(const ca::Response& r);

  int index_;
  int fd_ = -1;
  std::vector<std::uint8_t> out_;
  std::size_t sent_ = 0;
  std::vector<std::uint8_t> in_;
  std::size_t have_ = 0;  // bytes of in_ received and not yet decoded
  std::vector<std::uint32_t> sids_;
  ca::Limits limits_;
  CircuitCounts counts_;
};

// Many circuits and the epoll that serves them.
class CircuitSet {
public:
  CircuitSet();
  ~CircuitSet();
  CircuitSet(const CircuitSet&) = delete;
  CircuitSet& operator=(const CircuitSet&) = delete;

  CaCircuit& add(std::uint16_t port, const std::string& user, const std::string& host);
  std::vector<std::unique_ptr<CaCircuit>>& circuits() noexcept { return circuits_; }
  // Closes every circuit (the server sees each close).
  void close_all();

  // Serves every circuit (writes what is queued, reads what arrived) until
  // `done()` or `deadline`; returns done()'s last answer. Throws what a
  // circuit threw.
  bool run(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& done = {});
  // Sums over the circuits.
  CircuitCounts totals() const;

private:
  int epoll_ = -1;
  std::vector<std::unique_ptr<CaCircuit>> circuits_;
};

}  // namespace weft::bench

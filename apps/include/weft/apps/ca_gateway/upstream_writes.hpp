// Writes through the gateway, the bookkeeping of one upstream circuit (pure,
// unit-tested; gateway_writes.cpp drives it). A bus write request (a
// PendingWrite from the box's ca, for a `writable = true` record entry)
// becomes a WRITE_NOTIFY encoded at once (count, size and conversion to the
// channel's native type checked by client_channel: a bad one fails before
// anything is queued), then lives here by its IOID:
//
//   queued ──flush (the circuit's writer takes its output)──► on the wire ──WRITE_NOTIFY reply──►
//     │                                                         ok: reading back (READ_NOTIFY DBR_TIME) ──reply──► done ok
//     └── the asker abandoned it before flush: dropped, never sent   failed: done with the upstream's ECA
//
// Guarantees: every entry taken out (take, fail_channel, fail_all) leaves
// the table, so no request is answered twice and none is forgotten: a lost
// channel or circuit fails its entries (queued or on the wire), and the
// gateway's stop fails what is left. At most `max` entries per circuit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weft/core/point_writes.hpp"
#include "weft/core/reading.hpp"
#include "weft/drivers/ca/dbr.hpp"

namespace weft::apps::ca_gateway {

// IOIDs of writes (and their read-backs) carry this bit; the CTRL read of a
// channel uses its CID (below 2^30: max_pvs is at most 10^7).
inline constexpr std::uint32_t kWriteIoid = 0x40000000u;
constexpr bool is_write_ioid(std::uint32_t ioid) noexcept { return (ioid & kWriteIoid) != 0; }

// A bus value as CA elements for append_write_notify: numbers, integers and
// bools as DOUBLE numbers (exact for every int32 and below), text as one
// STRING, an array as its numbers.
struct WriteElements {
  ca::Elements elements;
  ca::ValueType from = ca::ValueType::float64;
};
WriteElements write_elements(const weft::Value& v);

// "ca_gateway: <what> (PV ioc:sp:flow, upstream 127.0.0.1:5064)": every
// write error names the PV and the server.
std::string write_error(const std::string& what, const std::string& pv, const std::string& server);

class UpstreamWrites {
public:
  struct Entry {
    std::uint32_t cid = 0;  // the channel (= the PV's id in the upstream table)
    std::string pv;
    std::shared_ptr<PendingWrite> request;
    std::vector<std::uint8_t> bytes;  // the WRITE_NOTIFY, until flushed
    bool sent = false;
    bool reading_back = false;
  };

  explicit UpstreamWrites(std::size_t max) : max_(max) {}
  bool full() const noexcept { return entries_.size() >= max_; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t queued() const noexcept;

  // A fresh IOID (kWriteIoid set, never one in use).
  std::uint32_t next_ioid();
  void queue(std::uint32_t ioid, Entry e);
  // Appends every queued write whose asker still waits to `out` (now on the
  // wire) and drops the abandoned ones, failing nobody. Returns how many it dropped.
  std::size_t flush(std::vector<std::uint8_t>& out);
  Entry* find(std::uint32_t ioid);
  // Removes and returns the entry (nullptr-free: check find first).
  Entry take(std::uint32_t ioid);
  // Fails every entry of channel `cid` / every entry with why(entry); returns how many.
  std::size_t fail_channel(std::uint32_t cid, const std::function<std::string(const Entry&)>& why);
  std::size_t fail_all(const std::function<std::string(const Entry&)>& why);

private:
  std::size_t max_;
  std::uint32_t next_ = 0;
  std::map<std::uint32_t, Entry> entries_;  // by IOID, in the order queued (IOIDs increase until they wrap)
  std::vector<std::uint32_t> order_;        // queued, not flushed, in submit order
};

}  // namespace weft::apps::ca_gateway

// When to (re-)send each name's UDP search: libca's back-off
// (modules/ca/src/client/searchTimer.cpp, udpiiu.cpp, disconnectGovernorTimer.cpp
// of epics-base), as a pure state machine over steady time points passed in.
//
// The facts carried over from libca:
// - Lanes 0..n-1; lane i repeats every 2^i x the round-trip estimate (RTTE =
//   mean + 4 x mean deviation of measured search round trips, each clamped to
//   [32 ms, 30 s], mean starting at 32 ms), so at most max_search_period
//   (EPICS_CA_MAX_SEARCH_PERIOD, default 300 s, at least 60 s):
//   n = 1 + log2(max_search_period / 32 ms), 14 lanes for 300 s.
// - A new name enters lane 0. Each time a lane fires, the names it sent last
//   time and that got no reply move up one lane (the top lane keeps them): a
//   name's retry interval doubles from 32 ms up to the maximum.
// - A lane sends at most ceil(frames_per_try) datagrams per firing (the rest
//   wait for its next firing); frames_per_try starts at 1, doubles while
//   every search of the previous firing was answered (slow start up to a
//   congestion threshold, then +1/frames_per_try, at most 64) and falls back
//   to 1 (threshold halved) when one was not.
// - A reply counts for the lane only when its datagram's sequence number is
//   one the lane's last firing sent; such replies update the RTTE, and when
//   all of a firing's searches are answered the lane fires again at once.
// - When a lane above the beacon-anomaly lane (the one whose period first
//   reaches 5 s) got replies, its waiting names drop to that lane ("boost").
// - A beacon anomaly moves every name above the beacon-anomaly lane down to it.
// - A name whose circuit was lost waits in the disconnect governor, which
//   releases everything into lane 0 every 10 s (no search storm on a disconnect;
//   the period is a setting here, for tests that must see only boost() work).
// Where this differs, on purpose:
// - A lane that was idle fires at once when a name enters it (libca's lane
//   timers tick all the time, so a name waits up to one period): a new name is
//   searched at once, and the retry intervals of one name are exactly
//   32 ms, 64 ms, 128 ms, ...
// - boost() puts one name back into lane 0 now: the gateway's "its server
//   restarted (beacon anomaly), re-search it at once", for names that were on
//   that server; libca only has the global anomaly rule.
// Time points come from the caller (steady_clock in use, a virtual one in
// tests); nothing here sleeps, reads a clock or allocates per tick beyond the
// datagram lists it returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace weft::ca {

struct SearchScheduleConfig {
  std::chrono::duration<double> max_search_period{300.0};  // EPICS_CA_MAX_SEARCH_PERIOD; below 60 s is raised to 60
  std::size_t max_datagram_bytes = 1024;                   // libca's MAX_UDP_SEND
  std::chrono::duration<double> disconnect_governor_period{10.0};  // libca's, fixed there
};

class SearchSchedule {
public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Seconds = std::chrono::duration<double>;

  static constexpr Seconds min_round_trip{0.032};
  static constexpr Seconds max_round_trip{30.0};
  static constexpr Seconds beacon_anomaly_period{5.0};
  static constexpr double max_frames_per_try = 64;

  SearchSchedule(const SearchScheduleConfig& config, TimePoint now);

  // One datagram's worth of searches: the caller builds it with
  // build_search_datagrams(entries for `ids`, sequence) and sends it to
  // every search destination.
  struct Datagram {
    std::uint32_t sequence = 0;
    std::vector<std::uint32_t> ids;
  };

  // A name to find, by the caller's search ID and the length of the name
  // (to pack datagrams by the same rule as build_search_datagrams). Enters
  // lane 0: searched at its next firing (now, if it was idle). Returns false (nothing changes) when the ID is already
  // scheduled or the name cannot fit a datagram.
  bool add(std::uint32_t id, std::size_t name_length, TimePoint now);
  // A name whose circuit went away: searched again at the governor's next tick.
  bool add_disconnected(std::uint32_t id, std::size_t name_length, TimePoint now);
  // Found (a search reply from `sequence`'s datagram, if the reply said), or
  // no longer wanted. Unknown IDs are ignored. found() returns whether the
  // reply counted for its lane (it answered the lane's latest firing).
  bool found(std::uint32_t id, std::optional<std::uint32_t> sequence, TimePoint now);
  void remove(std::uint32_t id);
  // libca's beacon anomaly: every name above the anomaly lane drops to it.
  void beacon_anomaly(TimePoint now);
  // One name to lane 0, due now (its server restarted). False if unknown.
  bool boost(std::uint32_t id, TimePoint now);

  // When take_due() next has something to do (nullopt: nothing scheduled).
  std::optional<TimePoint> next_due() const;
  // Fires every lane (and the governor) due at `now`: the datagrams to send.
  std::vector<Datagram> take_due(TimePoint now);

  // For tests and the console.
  std::size_t size() const noexcept { return names_.size(); }
  std::size_t lane_count() const noexcept { return lanes_.size(); }
  std::size_t beacon_anomaly_lane() const noexcept { return anomaly_lane_; }
  std::optional<std::size_t> lane_of(std::uint32_t id) const;  // nullopt: unknown or in the governor
  Seconds round_trip_estimate() const noexcept;                 // RTTE
  Seconds lane_period(std::size_t lane) const noexcept;
  double frames_per_try(std::size_t lane) const noexcept { return lanes_.at(lane).frames_per_try; }

private:
  static constexpr std::size_t governor = static_cast<std::size_t>(-1);
  struct Name {
    std::size_t bytes = 0;  // search_entry_bytes(name_length)
    std::size_t lane = 0;   // or governor
    bool sent = false;      // in the lane's sent list (searched at its last firing), else waiting
    std::uint64_t ticket = 0;
  };
  // A list entry is current while its ticket is the name's.
  struct Entry {
    std::uint32_t id = 0;
    std::uint64_t ticket = 0;
  };
  struct Lane {
    std::deque<Entry> waiting;  // libca's chanListReqPending
    std::deque<Entry> sent;     // chanListRespPending
    std::size_t waiting_count = 0, sent_count = 0;  // current entries in each
    std::optional<TimePoint> next_fire;             // nullopt: idle
    TimePoint last_send{};
    std::uint32_t seq_begin = 0, seq_end = 0;
    bool sent_any = false;
    unsigned attempts = 0, responses = 0;
    double frames_per_try = 1;
    double congest_threshold = 1e300;
  };

  void install(std::uint32_t id, std::size_t lane, TimePoint now);
  void unlink(const Name& n);
  bool valid(const Entry& e) const;
  void fire(std::size_t lane, TimePoint now, std::vector<Datagram>& out);
  void update_round_trip(Seconds measured) noexcept;

  SearchScheduleConfig config_;
  std::vector<Lane> lanes_;
  std::size_t anomaly_lane_ = 0;
  std::unordered_map<std::uint32_t, Name> names_;
  std::deque<Entry> governed_;
  std::size_t governed_count_ = 0;
  std::optional<TimePoint> governor_next_;
  TimePoint governor_epoch_;
  double rtt_mean_ = min_round_trip.count();
  double rtt_dev_ = 0;
  std::uint32_t next_sequence_ = 1;
  std::uint64_t tickets_ = 0;
};

}  // namespace weft::ca

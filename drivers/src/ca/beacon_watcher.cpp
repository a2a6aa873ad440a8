// bhe::updatePeriod as data, one map entry per server address. Every branch
// is a rule named in the header; the ID arithmetic is libca's (its wrap
// formula included), so the same beacons are discarded.
#include "weft/drivers/ca/beacon_watcher.hpp"

namespace weft::ca {
namespace {

constexpr std::uint32_t u32_max = 0xFFFFFFFFu;

// libca's beaconSeqAdvance.
std::uint32_t advance_of(std::uint32_t id, std::uint32_t last) noexcept {
  return id >= last ? id - last : (u32_max - last) + id;
}

// The ID went back: not a small wrap forward, not a duplicate just behind.
bool id_restarted(std::uint32_t id, std::uint32_t last) noexcept {
  if (id == last) return false;
  if (id == 0) return true;
  if (id > last) return false;
  const std::uint32_t advance = advance_of(id, last);
  return advance >= 4 && advance <= u32_max - 256;
}

}  // namespace

std::string_view to_string(BeaconVerdict v) noexcept {
  switch (v) {
    case BeaconVerdict::first: return "first";
    case BeaconVerdict::duplicate: return "duplicate";
    case BeaconVerdict::regular: return "regular";
    case BeaconVerdict::late: return "late";
    case BeaconVerdict::new_server: return "new server";
    case BeaconVerdict::restarted: return "restarted";
    case BeaconVerdict::reappeared: return "reappeared";
  }
  return "unknown";
}

BeaconVerdict BeaconWatcher::on_beacon(const BeaconSeen& beacon, TimePoint now) {
  const auto [it, inserted] = servers_.try_emplace(beacon.server);
  Server& s = it->second;
  const bool with_ids = beacon.server_minor >= 10;  // CA_V410: beacon IDs count
  const std::uint32_t id = beacon.beacon_id;
  if (inserted || !s.last) {
    const bool restart = with_ids && s.have_id && id_restarted(id, s.last_id);
    if (with_ids) {
      s.last_id = id;
      s.have_id = true;
    }
    s.last = now;
    return restart ? BeaconVerdict::restarted : BeaconVerdict::first;
  }
  if (with_ids) {
    const bool had_id = s.have_id;
    const std::uint32_t last = s.last_id;
    s.last_id = id;
    s.have_id = true;
    if (had_id) {
      if (id_restarted(id, last)) {
        s.last = now;  // the interval to the old server's last beacon says nothing
        return BeaconVerdict::restarted;
      }
      const std::uint32_t advance = advance_of(id, last);
      if (advance == 0 || advance > u32_max - 256) return BeaconVerdict::duplicate;
      if (advance > 1 && advance < 4) return BeaconVerdict::duplicate;
    }
  }
  const double period = std::chrono::duration_cast<Seconds>(now - *s.last).count();
  BeaconVerdict verdict = BeaconVerdict::regular;
  if (!s.average) {
    const double running = std::chrono::duration_cast<Seconds>(*s.last - begin_).count();
    if (period <= running) verdict = BeaconVerdict::new_server;
    s.average = period;
  } else {
    const double avg = *s.average;
    if (period >= avg * 1.25) {
      verdict = period >= avg * 3.25 ? BeaconVerdict::reappeared : BeaconVerdict::late;
    } else if (period <= avg * 0.80) {
      verdict = BeaconVerdict::restarted;
    }
    s.average = period * 0.125 + avg * 0.875;
  }
  s.last = now;
  return verdict;
}

void BeaconWatcher::circuit_up(ServerAddress server) { servers_[server].circuit = true; }

void BeaconWatcher::circuit_down(ServerAddress server) {
  const auto it = servers_.find(server);
  if (it == servers_.end()) return;
  it->second.circuit = false;
  it->second.last.reset();
  it->second.average.reset();
}

std::optional<BeaconWatcher::Seconds> BeaconWatcher::period(ServerAddress server) const {
  const auto it = servers_.find(server);
  if (it == servers_.end() || !it->second.average) return std::nullopt;
  return Seconds{*it->second.average};
}

std::size_t BeaconWatcher::forget_older_than(TimePoint before) {
  std::size_t forgotten = 0;
  for (auto it = servers_.begin(); it != servers_.end();) {
    const Server& s = it->second;
    if (!s.circuit && (!s.last || *s.last < before)) {
      it = servers_.erase(it);
      ++forgotten;
    } else {
      ++it;
    }
  }
  return forgotten;
}

}  // namespace weft::ca

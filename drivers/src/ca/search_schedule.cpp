// libca's search lanes as data. Lists hold (id, ticket) entries and are
// cleaned lazily: moving or removing a name gives it a new ticket (or erases
// it), and a stale entry is dropped when a firing reaches it, so a reply for
// one of 10^5 names costs a hash lookup, not a scan of its lane.
#include "weft/drivers/ca/search_schedule.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "weft/drivers/ca/client_search.hpp"

namespace weft::ca {

SearchSchedule::SearchSchedule(const SearchScheduleConfig& config, TimePoint now)
    : config_(config), governor_epoch_(now) {
  if (config_.max_search_period < Seconds{60.0}) config_.max_search_period = Seconds{60.0};
  if (config_.disconnect_governor_period < min_round_trip) config_.disconnect_governor_period = min_round_trip;
  const auto n = static_cast<std::size_t>(1.0 + std::log2(config_.max_search_period / min_round_trip));
  lanes_.resize(std::clamp<std::size_t>(n, 1, 32));
  anomaly_lane_ = static_cast<std::size_t>(std::log2(beacon_anomaly_period / min_round_trip) + 1.0);
  anomaly_lane_ = std::min(anomaly_lane_, lanes_.size() - 1);
}

SearchSchedule::Seconds SearchSchedule::round_trip_estimate() const noexcept {
  return Seconds{rtt_mean_ + 4 * rtt_dev_};
}

SearchSchedule::Seconds SearchSchedule::lane_period(std::size_t lane) const noexcept {
  const double p = std::ldexp(round_trip_estimate().count(), static_cast<int>(lane));
  return Seconds{std::min(p, config_.max_search_period.count())};
}

void SearchSchedule::update_round_trip(Seconds measured) noexcept {
  const double m = std::clamp(measured.count(), min_round_trip.count(), max_round_trip.count());
  const double error = m - rtt_mean_;
  rtt_mean_ += 0.125 * error;
  rtt_dev_ += 0.25 * (std::fabs(error) - rtt_dev_);
}

bool SearchSchedule::add(std::uint32_t id, std::size_t name_length, TimePoint now) {
  if (names_.contains(id) || name_length == 0 || !search_entry_fits(name_length, config_.max_datagram_bytes)) {
    return false;
  }
  names_[id].bytes = search_entry_bytes(name_length);
  install(id, 0, now);
  return true;
}

bool SearchSchedule::add_disconnected(std::uint32_t id, std::size_t name_length, TimePoint now) {
  if (names_.contains(id) || name_length == 0 || !search_entry_fits(name_length, config_.max_datagram_bytes)) {
    return false;
  }
  Name& n = names_[id];
  n.bytes = search_entry_bytes(name_length);
  n.lane = governor;
  n.ticket = ++tickets_;
  governed_.push_back({id, n.ticket});
  ++governed_count_;
  if (!governor_next_) {
    // The governor ticks every 10 s from construction; a name waits for the next tick.
    const auto since = std::chrono::duration_cast<Seconds>(now - governor_epoch_).count();
    const double period = config_.disconnect_governor_period.count();
    const double ticks = std::floor(since / period) + 1.0;
    governor_next_ = governor_epoch_ + std::chrono::duration_cast<Clock::duration>(Seconds{ticks * period});
  }
  return true;
}

void SearchSchedule::install(std::uint32_t id, std::size_t lane, TimePoint now) {
  Name& n = names_[id];
  n.lane = lane;
  n.sent = false;
  n.ticket = ++tickets_;
  Lane& l = lanes_[lane];
  l.waiting.push_back({id, n.ticket});
  ++l.waiting_count;
  if (!l.next_fire) l.next_fire = now;
}

void SearchSchedule::unlink(const Name& n) {
  if (n.lane == governor) {
    --governed_count_;
    if (governed_count_ == 0) {
      governed_.clear();
      governor_next_.reset();
    }
    return;
  }
  Lane& l = lanes_[n.lane];
  if (n.sent) {
    --l.sent_count;
  } else {
    --l.waiting_count;
  }
  if (l.sent_count == 0 && l.waiting_count == 0) {
    l.waiting.clear();
    l.sent.clear();
    l.next_fire.reset();
  }
}

bool SearchSchedule::valid(const Entry& e) const {
  const auto it = names_.find(e.id);
  return it != names_.end() && it->second.ticket == e.ticket;
}

bool SearchSchedule::found(std::uint32_t id, std::optional<std::uint32_t> sequence, TimePoint now) {
  const auto it = names_.find(id);
  if (it == names_.end()) return false;
  const Name n = it->second;
  unlink(n);
  names_.erase(it);
  if (n.lane == governor) return false;
  Lane& l = lanes_[n.lane];
  const bool counts = !sequence || (l.sent_any && l.seq_begin <= *sequence && *sequence <= l.seq_end);
  if (!counts) return false;
  update_round_trip(std::chrono::duration_cast<Seconds>(now - l.last_send));
  if (l.responses < UINT_MAX) ++l.responses;
  // Every search of the firing answered: send the lane's waiting names now.
  if (l.responses >= l.attempts && l.waiting_count > 0) l.next_fire = now;
  return true;
}

void SearchSchedule::remove(std::uint32_t id) {
  const auto it = names_.find(id);
  if (it == names_.end()) return;
  unlink(it->second);
  names_.erase(it);
}

void SearchSchedule::beacon_anomaly(TimePoint now) {
  for (std::size_t lane = anomaly_lane_ + 1; lane < lanes_.size(); ++lane) {
    Lane& l = lanes_[lane];
    std::vector<std::uint32_t> moving;
    for (auto* list : {&l.sent, &l.waiting}) {
      for (const Entry& e : *list) {
        if (valid(e)) moving.push_back(e.id);
      }
    }
    if (l.attempts > 0) l.attempts -= std::min<unsigned>(l.attempts, static_cast<unsigned>(l.sent_count));
    for (const std::uint32_t id : moving) {
      unlink(names_[id]);
      install(id, anomaly_lane_, now);
    }
  }
}

bool SearchSchedule::boost(std::uint32_t id, TimePoint now) {
  const auto it = names_.find(id);
  if (it == names_.end()) return false;
  unlink(it->second);
  install(id, 0, now);
  Lane& l0 = lanes_[0];
  if (!l0.next_fire || *l0.next_fire > now) l0.next_fire = now;
  return true;
}

std::optional<std::size_t> SearchSchedule::lane_of(std::uint32_t id) const {
  const auto it = names_.find(id);
  if (it == names_.end() || it->second.lane == governor) return std::nullopt;
  return it->second.lane;
}

std::optional<SearchSchedule::TimePoint> SearchSchedule::next_due() const {
  std::optional<TimePoint> due = governor_next_;
  for (const Lane& l : lanes_) {
    if (l.next_fire && (!due || *l.next_fire < *due)) due = l.next_fire;
  }
  return due;
}

std::vector<SearchSchedule::Datagram> SearchSchedule::take_due(TimePoint now) {
  std::vector<Datagram> out;
  if (governor_next_ && *governor_next_ <= now) {
    std::deque<Entry> released;
    released.swap(governed_);
    governed_count_ = 0;
    governor_next_.reset();
    for (const Entry& e : released) {
      if (valid(e)) install(e.id, 0, now);
    }
  }
  // Lanes in the order they are due (ties: the lower lane first). Each
  // firing re-arms its lane past `now` or idles it; only an idle lane that a
  // firing hands names to comes due again, and names only move up a lane or
  // down to the anomaly lane, so this ends; the bound is a guard.
  for (std::size_t guard = 0; guard < 4 * lanes_.size() + 4; ++guard) {
    std::optional<std::size_t> pick;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      const auto& f = lanes_[i].next_fire;
      if (f && *f <= now && (!pick || *f < *lanes_[*pick].next_fire)) pick = i;
    }
    if (!pick) break;
    fire(*pick, now, out);
  }
  return out;
}

void SearchSchedule::fire(std::size_t lane, TimePoint now, std::vector<Datagram>& out) {
  const std::size_t up = std::min(lane + 1, lanes_.size() - 1);
  {
    // Sent last time and not answered: one lane up (libca's noSearchRespNotify).
    std::deque<Entry> unanswered;
    unanswered.swap(lanes_[lane].sent);
    lanes_[lane].sent_count = 0;
    for (const Entry& e : unanswered) {
      if (!valid(e)) continue;
      names_[e.id].sent = false;  // unlinked from `sent` above: counted afresh by install
      install(e.id, up, now);
    }
  }
  Lane& l = lanes_[lane];
  if (l.responses > 0 && lane > anomaly_lane_) {
    // Replies came in: names not searched for a while drop to the anomaly lane.
    std::deque<Entry> waiting;
    waiting.swap(l.waiting);
    l.waiting_count = 0;
    for (const Entry& e : waiting) {
      if (valid(e)) install(e.id, anomaly_lane_, now);
    }
  }
  if (l.attempts > 0) {
    if (l.responses >= l.attempts) {
      if (l.frames_per_try < max_frames_per_try) {
        if (l.frames_per_try < l.congest_threshold) {
          l.frames_per_try = std::min(2 * l.frames_per_try, l.congest_threshold);
        } else {
          l.frames_per_try += 1.0 / l.frames_per_try;
        }
        l.frames_per_try = std::min(l.frames_per_try, max_frames_per_try);
      }
    } else {
      l.congest_threshold = l.frames_per_try / 2.0;
      l.frames_per_try = 1;
    }
  }
  l.attempts = 0;
  l.responses = 0;
  l.seq_begin = next_sequence_;
  l.last_send = now;

  std::size_t frames = 0;
  std::size_t bytes = 0;
  bool open = false;
  while (!l.waiting.empty()) {
    const Entry e = l.waiting.front();
    if (!valid(e)) {
      l.waiting.pop_front();
      continue;
    }
    Name& n = names_[e.id];
    if (open && bytes + n.bytes > config_.max_datagram_bytes) {
      open = false;
      ++frames;
    }
    if (!open) {
      if (static_cast<double>(frames) >= l.frames_per_try) break;  // the rest waits for the next firing
      out.push_back(Datagram{next_sequence_++, {}});
      open = true;
      bytes = header_size;  // the datagram's VERSION
    }
    out.back().ids.push_back(e.id);
    bytes += n.bytes;
    l.waiting.pop_front();
    --l.waiting_count;
    n.sent = true;
    l.sent.push_back(e);
    ++l.sent_count;
    if (l.attempts < UINT_MAX) ++l.attempts;
  }
  l.sent_any = next_sequence_ != l.seq_begin;
  l.seq_end = next_sequence_ - 1;
  if (l.waiting_count == 0 && l.sent_count == 0) {
    l.waiting.clear();
    l.next_fire.reset();
  } else {
    l.next_fire = now + std::chrono::duration_cast<Clock::duration>(lane_period(lane));
  }
}

}  // namespace weft::ca

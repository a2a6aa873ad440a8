// Access rights and writes. Rights: the first [[service.ca.access]] rule
// that matches the PV, the client's claimed host and user wins (none:
// read-only), and write only ever for a writable point; a change of which
// points are writable (their owner started, stopped, was reconfigured) is
// sent to open channels as a new ACCESS_RIGHTS (refresh_rights), and so is
// a reload's change of the rules (ca_live.cpp: they are read from
// Settings::live, the rules in force now). A write is
// checked (rights, type, count), converted to the PV's type, clamped to its
// control limits DRVL..DRVH when DRVH > DRVL (as an EPICS ao record does),
// and then either applied at once (a soft point: set, published), staged
// until durable (a persist = true soft point: ca_persist.cpp) or handed to
// the point's owner on the bus's PointWrites (run_device_write: the
// circuit waits for the answer, at most write_timeout). Every attempt,
// allowed or refused, is one put-log entry (the value applied, and what was
// asked when it was clamped): a log line, a store row (through the store's
// writer thread, never SQLite here) and the `ca puts` ring.
#include <fnmatch.h>

#include <chrono>
#include <memory>

#include "ca_server.hpp"
#include "weft/core/point_writes.hpp"
#include "weft/drivers/ca/convert.hpp"

namespace weft::apps::ca_server {
namespace {

// A writable soft point, or a point whose owner takes writes (gather's `writable = true` registers).
bool writable(const Server& s, const Pv& pv) {
  if (pv.soft != nullptr) return s.s.live->writable_soft.contains(pv.soft->name);
  return s.ctx.bus().writes().find(pv.point) != nullptr;
}

void put_log(Server& s, const Circuit& c, const Pv& pv, const std::string& old_text, const std::string& new_text,
             const std::string& result) {
  put_log(s, who(c), c.peer, pv, old_text, new_text, result);
}

// A value of the PV as the put log shows it: a scalar as CA text (PREC
// applied), an array as core's to_string shows one (first 8 elements, the length).
std::string value_text(const Pv& pv, const ca::Elements& elements) {
  if (pv.is_array) {
    const auto* numbers = std::get_if<std::vector<double>>(&elements);
    return numbers != nullptr ? to_string(weft::Value{NumberArray(*numbers)}) : std::string("?");
  }
  auto t = ca::convert_elements(elements, pv.value.type, ca::ValueType::string, pv.value.meta);
  auto* e = std::get_if<ca::Elements>(&t);
  return e ? std::get<std::vector<std::string>>(*e).front() : std::string("?");
}

// EPICS ao: a put beyond DRVL..DRVH is clamped to it when DRVH > DRVL (the
// limits served as .DRVH/.DRVL and DBR_CTRL's control limits). Numbers only;
// NaN passes (as in EPICS: it compares false). The put log's note ("" when
// not clamped).
std::string clamp_to_control(const Pv& pv, ca::Elements& el) {
  if (pv.value.type == ca::ValueType::enumerated || pv.value.type == ca::ValueType::string) return {};
  if (pv.is_array) return {};  // a waveform has no DRVL/DRVH (array soft points take no control limits)
  auto* numbers = std::get_if<std::vector<double>>(&el);
  if (numbers == nullptr || numbers->empty()) return {};
  const double hi = pv.value.meta.upper_ctrl, lo = pv.value.meta.lower_ctrl;
  if (!(hi > lo)) return {};
  double& x = numbers->front();
  const std::string asked = ca::format_number(x, false, std::nullopt);
  if (x > hi) {
    x = hi;
    return " (" + asked + " clamped to DRVH " + ca::format_number(hi, false, std::nullopt) + ")";
  }
  if (x < lo) {
    x = lo;
    return " (" + asked + " clamped to DRVL " + ca::format_number(lo, false, std::nullopt) + ")";
  }
  return {};
}

}  // namespace

// The put log: every write attempt, allowed or refused, is one line in the
// log and (with a [store]) one row of the store's put_log table, written by
// the store's writer thread (never SQLite here); the last kPutRing are kept
// for `ca puts`.
void put_log(Server& s, const std::string& who, const std::string& peer, const Pv& pv, const std::string& old_text,
             const std::string& new_text, const std::string& result) {
  s.ctx.log().info("ca: put {} by {} ({}): {} -> {}: {}", pv.name, who, peer, old_text, new_text, result);
  store::PutRecord r;
  r.wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                  .count();
  r.who = who;
  r.peer = peer;
  r.pv = pv.name;
  r.old_value = old_text;
  r.new_value = new_text;
  r.result = result;
  ++s.puts;
  if (s.s.store != nullptr && s.s.store->accepting()) {
    s.s.store->append_put(r);
  } else {
    ++s.puts_unstored;
  }
  s.put_ring.push_back(std::move(r));
  if (s.put_ring.size() > kPutRing) s.put_ring.pop_front();
}

std::string value_text(const Pv& pv) { return value_text(pv, pv.value.elements); }

void publish_soft(Server& s, Pv& pv, weft::Value value) {
  s.ctx.publish(pv.point, value);
  // Taken now, so the circuit's next read sees it; the feed's copy of the
  // same reading then changes nothing (on_reading knows it by its number).
  if (const Reading* published = s.ctx.bus().latest(pv.point)) {
    on_reading(s, *published);
  } else {  // beyond the bus's latest-readings bound: the same reading, rebuilt
    Reading r;
    r.point = pv.point;
    r.value = std::move(value);
    r.mono_ns = to_ns(s.ctx.clock().now());
    r.wall_ns = s.ctx.clock().wall_ns();
    r.seq = s.ctx.bus().published();  // the publish just made
    on_reading(s, r);
  }
}

// First matching rule wins; none: read-only. Write only for writable points.
std::uint32_t rights_for(const Server& s, const Pv& pv, ca_pv::Field field, const Circuit& c) {
  std::uint32_t rights = ca::access_read;
  for (const AccessRule& rule : s.s.live->access) {
    const bool match = ::fnmatch(rule.pv.c_str(), pv.name.c_str(), 0) == 0 &&
                       ::fnmatch(rule.host.c_str(), c.host.c_str(), FNM_CASEFOLD) == 0 &&
                       ::fnmatch(rule.user.c_str(), c.user.c_str(), 0) == 0;
    if (match) {
      rights = rule.rights;
      break;
    }
  }
  if (field != ca_pv::Field::val || !writable(s, pv)) rights &= ~ca::access_write;
  return rights;
}

bool can_read(const Channel& ch) { return (ch.rights & ca::access_read) != 0; }

// Every open channel whose rights changed since they were sent gets a new
// ACCESS_RIGHTS (as RSRV does when access security changes), without a
// reconnect: called when the bus's write registry changed (gather started
// or stopped, a reload made a register writable or not) and when a reload
// changed the access rules (take_live). As RSRV's casAccessRightsCB: each
// monitor of a channel whose read right changed gets one update after it,
// ECA_NORDACCESS with a zeroed payload when the right went (then none:
// post_events skips it), the current value when it came back.
void refresh_rights(Server& s, std::string_view why) {
  s.writes_seen = s.ctx.bus().writes().changes();
  std::size_t changed = 0;
  for (Circuit* c : s.open) {
    if (c->closing) continue;
    bool any = false;
    for (auto& [sid, ch] : c->channels) {
      const std::uint32_t now = rights_for(s, *ch->pv, ch->field, *c);
      if (now == ch->rights) continue;
      const bool read_changed = ((now ^ ch->rights) & ca::access_read) != 0;
      ch->rights = now;
      ca::encode(c->out, ca::AccessRights{ch->cid, now});
      if (read_changed)
        for (auto& [id, m] : ch->monitors) post_update(*c, *ch, id, m);
      any = true;
      ++changed;
    }
    if (any) c->notify();
  }
  s.rights_pushed += changed;
  if (changed > 0)
    s.ctx.log().info("ca: access rights changed for {} open channel(s) ({}): ACCESS_RIGHTS sent to them", changed, why);
}

// A CA write to a PV: checked (rights, type, count), decoded and converted
// to the PV's type. A soft point is set at once (a read that follows on the
// circuit sees it) and published on the bus. A point with an owner on the
// bus's PointWrites (a writable Modbus register) becomes `device`: the
// circuit then waits for the owner's answer before it takes its next
// request (run_device_write). Every refusal here is one put-log entry.
ca::Eca apply_write(Circuit& c, Channel& ch, std::uint16_t type, std::uint32_t count,
                    std::span<const std::uint8_t> data, std::string& why, std::optional<DeviceWrite>& device,
                    bool& staged) {
  Server& s = c.server;
  Pv& pv = *ch.pv;
  const std::string old_text = value_text(pv);
  auto refuse = [&](std::string result, ca::Eca status) {
    put_log(s, c, pv, old_text, "?", result);
    return status;
  };
  if ((ch.rights & ca::access_write) == 0) {
    if (ch.field != ca_pv::Field::val) {
      why = pv.name + ": its record fields besides VAL are read-only";
    } else {
      why = pv.name + (writable(s, pv) ? " is not writable by this client (access rules)"
                                       : " is read-only (its point is not configured writable = true)");
    }
    return refuse("refused (no write access)", ca::Eca::nowtaccess);
  }
  if (type > 6) {
    why = "write with " + ca::dbr_name(type) + ": only plain types 0..6 are accepted";
    return refuse("refused (bad type)", ca::Eca::badtype);
  }
  if (!pv.is_array && count != 1) {
    why = "write of " + std::to_string(count) + " elements to a scalar";
    return refuse("refused (bad count)", ca::Eca::badcount);
  }
  // An array takes 1 to max_count elements. RSRV would cut a longer write to
  // NELM without a word (dbPut); libca refuses it before sending
  // (ECA_BADCOUNT), and so does this server: nothing is silently dropped.
  if (pv.is_array && (count == 0 || count > pv.max_count)) {
    why = "write of " + std::to_string(count) + " elements to " + pv.name + ", which holds 1 to " +
          std::to_string(pv.max_count) + " (max_length)";
    return refuse("refused (bad count: " + std::to_string(count) + " elements, at most " +
                      std::to_string(pv.max_count) + ")",
                  ca::Eca::badcount);
  }
  const auto decoded = ca::decode_dbr(type, count, data, s.s.limits);
  if (const auto* e = std::get_if<ca::Error>(&decoded)) {
    why = e->message();
    return refuse("refused (" + why + ")", ca::to_eca(e->code));
  }
  const ca::Decoded& d = std::get<ca::Decoded>(decoded);
  const auto converted = ca::convert_elements(d.value.elements, d.value.type, pv.value.type, pv.value.meta);
  if (const auto* e = std::get_if<ca::Error>(&converted)) {
    why = e->message();
    return refuse("refused (" + why + ")", ca::Eca::noconvert);
  }
  ca::Elements el = std::get<ca::Elements>(converted);
  const std::string clamped = clamp_to_control(pv, el);
  const std::string new_text = value_text(pv, el);
  if (pv.soft == nullptr) {  // the hardware's: its owner writes it (rights said it has one)
    weft::Value value;
    if (pv.is_array) {
      value = NumberArray(std::get<std::vector<double>>(el));
    } else if (const auto* texts = std::get_if<std::vector<std::string>>(&el)) {
      value = texts->front();
    } else {
      const double n = std::get<std::vector<double>>(el).front();
      if (pv.from_bool && (n == 0 || n == 1)) value = n == 1;
      else if (pv.value.type == ca::ValueType::int32) value = static_cast<std::int64_t>(n);
      else value = n;
    }
    device.emplace();
    device->pv = &pv;
    device->value = std::move(value);
    device->old_text = old_text;
    device->new_text = new_text;
    device->note = clamped;
    return ca::Eca::normal;
  }
  const SoftPoint& sp = *pv.soft;
  weft::Value value;
  if (pv.is_array) {
    value = NumberArray(std::get<std::vector<double>>(el));
  } else if (const auto* texts = std::get_if<std::vector<std::string>>(&el)) {
    value = texts->front();
  } else {
    const double n = std::get<std::vector<double>>(el).front();
    if (sp.is_bool) {
      value = n != 0;
    } else if (sp.type == ca::ValueType::enumerated) {
      if (n >= static_cast<double>(sp.strings.size())) {
        why = "state " + ca::format_number(n, true, std::nullopt) + " of " + pv.name + " is not one of its " +
              std::to_string(sp.strings.size()) + " states";
        return refuse("refused (" + why + ")", ca::Eca::putfail);
      }
      value = static_cast<std::int64_t>(n);
    } else if (sp.type == ca::ValueType::int32) {
      value = static_cast<std::int64_t>(n);
    } else {
      value = n;
    }
  }
  if (sp.persist) {  // applied once durable (persist_loop), answered then (finish_persist_writes)
    stage_write(s, c, pv, std::move(value), clamped);
    staged = true;
    return ca::Eca::normal;
  }
  publish_soft(s, pv, std::move(value));
  put_log(s, c, pv, old_text, value_text(pv), "ok" + clamped);
  return ca::Eca::normal;
}

// A write to the hardware, answered by the point's owner (gather): the
// circuit takes no further request until the answer came or write_timeout
// passed, so a read that follows sees the device's read-back. The client
// always gets an answer: WRITE_NOTIFY its status, a failed WRITE an ERROR
// with the owner's text (the Modbus error). A stop while waiting answers
// ECA_PUTFAIL in the circuit's farewell, before SERVER_DISCONN.
asio::awaitable<void> run_device_write(Circuit& c) {
  DeviceWrite w = std::move(*c.device_write);
  c.device_write.reset();
  Server& s = c.server;
  Pv& pv = *w.pv;
  ca::Eca status = ca::Eca::normal;
  std::string why;
  PointWriter* writer = s.ctx.bus().writes().find(pv.point);
  if (writer == nullptr) {
    status = ca::Eca::putfail;
    why = pv.name + ": nothing accepts writes to point " + pv.point + " now (is gather running?)";
  } else {
    auto request = std::make_shared<PendingWrite>(pv.point, w.value, "ca " + who(c) + " (" + c.peer + ")");
    writer->submit(request);
    bool stopped = false;
    WriteOutcome outcome;
    try {
      outcome = co_await request->wait(s.s.write_timeout);
    } catch (const boost::system::system_error&) {
      stopped = true;
    }
    if (stopped) {
      put_log(s, c, pv, w.old_text, w.new_text,
              "failed: the ca service stopped before the device answered (the write may have reached it)");
      if (w.notify) ca::encode(c.farewell, ca::WriteNotifyReply{w.dbr_type, w.count, ca::Eca::putfail, w.ioid});
      throw boost::system::system_error(asio::error::operation_aborted, "ca device write");
    }
    if (!outcome.ok) {
      status = ca::Eca::putfail;
      why = outcome.error;
    }
  }
  if (status == ca::Eca::normal) {
    // The owner read the point back before it answered: take that reading now
    // (the feed may not have run yet), so a read that follows sees it.
    if (const Reading* r = s.ctx.bus().latest(pv.point)) on_reading(s, *r);
    put_log(s, c, pv, w.old_text, w.new_text, "ok" + w.note);
  } else {
    put_log(s, c, pv, w.old_text, w.new_text, "failed: " + why);
  }
  if (w.notify) {
    ca::encode(c.out, ca::WriteNotifyReply{w.dbr_type, w.count, status, w.ioid});
  } else if (status != ca::Eca::normal) {
    ca::encode(c.out, ca::ErrorMessage{w.cid, status, std::move(w.header), why});
  }
  c.notify();
}

}  // namespace weft::apps::ca_server

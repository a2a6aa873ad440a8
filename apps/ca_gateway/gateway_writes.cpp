// Writes through the gateway: a `writable = true` record entry registers a
// PointWriter for its point on the bus's PointWrites, so the box's ca (or
// any asker) can set it. A request becomes a WRITE_NOTIFY on the upstream
// circuit of its PV, converted to the channel's native type and checked
// (count, size) by client_channel's encoder; it is answered only when the
// upstream has: failed with the upstream's ECA code and text (an ERROR for
// it, or a WRITE_NOTIFY reply with a status: ECA_NOWTACCESS, ECA_PUTFAIL),
// or ok once a READ_NOTIFY DBR_TIME that follows it has brought the value
// the upstream now holds (published, so the asker's read-back sees it, as
// a gather register's does). At once, without sending: a PV not connected
// (its state named), a value that does not fit the channel, more than
// kMaxWritesPerCircuit in flight. A request its asker abandoned before the
// circuit's writer took it is dropped (UpstreamWrites::flush). A lost
// channel or circuit fails its writes (queued: not sent; on the wire: the
// upstream may have applied it), and so does the gateway's stop (~Gateway).
// Every error names the PV and the upstream server; the asker logs the
// write (ca's put log). Writes are sent as the upstream grants or not: an
// upstream without write access answers ECA_NOWTACCESS itself.
#include <chrono>
#include <spdlog/spdlog.h>

#include "gateway.hpp"

namespace weft::apps::ca_gateway {
namespace {

std::string server_of(const UpstreamPv* pv) { return pv && pv->server ? ca::to_string(*pv->server) : "none found"; }

std::string seconds_since(const Gateway& g, MonoTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(g.ctx.clock().now() - t).count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

void failed(Gateway& g, const std::shared_ptr<PendingWrite>& request, std::string why) {
  ++g.n.writes_failed;
  request->fail(std::move(why));
}

}  // namespace

void RecordWriter::submit(std::shared_ptr<PendingWrite> request) { submit_write(gw, id, std::move(request)); }

void register_writers(Gateway& g) {
  for (const auto& [id, r] : g.records) {
    if (!r->writable) continue;
    g.writers.push_back(std::make_unique<RecordWriter>(g, id));
    try {
      g.write_registrations.push_back(g.ctx.bus().writes().add(r->point, *g.writers.back()));
    } catch (const std::logic_error&) {
      throw std::runtime_error("ca_gateway: record " + r->name + " is writable = true, but its point " + r->point +
                               " already takes writes from another service; give the record another point");
    }
  }
}

void submit_write(Gateway& g, std::uint32_t id, std::shared_ptr<PendingWrite> request) {
  if (request->abandoned() || request->done()) {
    ++g.n.writes_dropped;
    return;
  }
  ++g.n.writes;
  const UpstreamPv* pv = g.table.find(id);
  const std::string name = pv ? pv->name : request->point();
  if (pv == nullptr || (pv->state != PvState::active && pv->state != PvState::inactive) || !pv->server) {
    const std::string state = pv ? std::string(to_string(pv->state)) + " for " + seconds_since(g, pv->since) : "unknown";
    return failed(g, request,
                  write_error("not connected upstream (" + state + "); the write was not sent", name, server_of(pv)));
  }
  const auto circuit = g.circuits.find(*pv->server);
  Circuit* c = circuit == g.circuits.end() ? nullptr : circuit->second.get();
  const ca::ChannelInfo* channel = nullptr;
  if (c != nullptr && c->up) {
    if (const auto it = c->channels.find(id); it != c->channels.end()) channel = &it->second;
  }
  if (channel == nullptr) {
    return failed(g, request, write_error("not connected upstream (no channel open); the write was not sent", name,
                                          server_of(pv)));
  }
  if (c->writes.full()) {
    return failed(g, request,
                  write_error(std::to_string(c->writes.size()) + " writes are already in flight on this circuit; "
                                                                 "the write was not sent",
                              name, c->peer));
  }
  const WriteElements elements = write_elements(request->value());
  const std::uint32_t ioid = c->writes.next_ioid();
  std::vector<std::uint8_t> bytes;
  if (const auto e =
          ca::append_write_notify(bytes, *channel, ioid, elements.elements, elements.from, g.s.limits)) {
    return failed(g, request, write_error("the value does not fit the upstream channel (" +
                                              std::string(ca::to_string(channel->native_type)) + ", " +
                                              std::to_string(channel->count) + " element(s)): " + e->message(),
                                          name, c->peer));
  }
  UpstreamWrites::Entry entry;
  entry.cid = id;
  entry.pv = name;
  entry.request = std::move(request);
  entry.bytes = std::move(bytes);
  c->writes.queue(ioid, std::move(entry));
  c->send();
}

void flush_writes(Circuit& c) {
  if (c.writes.queued() == 0) return;
  const std::size_t dropped = c.writes.flush(c.out);
  if (dropped > 0) {
    c.gw.n.writes_dropped += dropped;
    c.gw.ctx.log().info("ca_gateway: {}: {} write(s) dropped unsent: their askers gave up waiting", c.peer, dropped);
  }
}

void on_write_reply(Circuit& c, const ca::WriteNotifyReply& reply) {
  UpstreamWrites::Entry* e = c.writes.find(reply.ioid);
  if (e == nullptr || e->reading_back) return;  // answered meanwhile (its channel was lost), or a repeat
  if (const auto why = ca::write_failure(reply)) {
    UpstreamWrites::Entry done = c.writes.take(reply.ioid);
    return failed(c.gw, done.request, write_error("the upstream refused the write: " + *why, done.pv, c.peer));
  }
  const auto channel = c.channels.find(e->cid);
  if (channel == c.channels.end()) {  // cleared meanwhile: the write itself succeeded
    UpstreamWrites::Entry done = c.writes.take(reply.ioid);
    ++c.gw.n.writes_ok;
    return done.request->succeed();
  }
  e->reading_back = true;  // ok: the answer waits for what the upstream now holds
  ca::append_read(c.out, channel->second, ca::time_type(channel->second.native_type), reply.ioid);
  c.send();
}

void finish_read_back(Circuit& c, std::uint32_t ioid) {
  if (c.writes.find(ioid) == nullptr) return;
  UpstreamWrites::Entry done = c.writes.take(ioid);
  ++c.gw.n.writes_ok;
  done.request->succeed();
}

bool on_write_error(Circuit& c, const ca::ErrorReport& report) {
  const auto command = static_cast<ca::Command>(report.request.command);
  if (command != ca::Command::write_notify && command != ca::Command::read_notify) return false;
  const std::uint32_t ioid = report.request.p2;
  UpstreamWrites::Entry* e = is_write_ioid(ioid) ? c.writes.find(ioid) : nullptr;
  if (e == nullptr) return false;
  if (e->reading_back) {  // the write succeeded; only its read-back did not
    finish_read_back(c, ioid);
    return true;
  }
  UpstreamWrites::Entry done = c.writes.take(ioid);
  failed(c.gw, done.request, write_error("the upstream refused the write: " + report.message(), done.pv, c.peer));
  return true;
}

void fail_channel_writes(Circuit& c, std::uint32_t cid, const std::string& why) {
  c.gw.n.writes_failed += c.writes.fail_channel(cid, [&](const UpstreamWrites::Entry& e) {
    return write_error(why + (e.sent ? " with the write on the wire (the upstream may have applied it)"
                                     : " before the write was sent"),
                       e.pv, c.peer);
  });
}

void fail_circuit_writes(Circuit& c, const std::string& why) {
  c.gw.n.writes_failed += c.writes.fail_all([&](const UpstreamWrites::Entry& e) {
    return write_error(why + (e.sent ? " with the write on the wire (the upstream may have applied it)"
                                     : " before the write was sent"),
                       e.pv, c.peer);
  });
}

}  // namespace weft::apps::ca_gateway

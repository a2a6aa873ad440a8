// One upstream circuit per server address: TCP connect (bounded by
// circuit_connect_timeout), the hello (VERSION, CLIENT_NAME, HOST_NAME) and
// CREATE_CHAN for every name found there; per channel EVENT_ADD DBR_TIME
// (value | alarm), EVENT_ADD DBR_CTRL (property: metadata, enum strings) and
// one READ_NOTIFY DBR_CTRL; writes (gateway_writes.cpp) as WRITE_NOTIFY,
// their replies and read-backs routed back by IOID. The stream is cut by a CircuitReader (a message
// above the limits is refused and skipped, the circuit goes on); replies are
// checked by client_channel before anything is believed. Liveness: after
// echo_idle without a message an ECHO goes out; no message within
// echo_timeout after it ends the circuit, as does a write not drained
// within echo_idle + echo_timeout. However it ends (the server closed it,
// reset, timeout, a broken stream), Gateway::on_circuit_end marks every
// name on it disconnected and searches them again. A stop cancels the
// session at whatever it awaits (connect, read, write) and nothing else
// runs after it.
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "gateway.hpp"
#include "weft/core/timers.hpp"

namespace weft::apps::ca_gateway {

using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr std::uint32_t kCtrlSubscription = 0x80000000u;  // subscription id = cid | this for the CTRL monitor

asio::awaitable<void> throw_if_stopped() {
  const auto state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) {
    throw boost::system::system_error(asio::error::operation_aborted, "ca_gateway circuit");
  }
}

// " (a monitor update of ioc:wave)": the PV a refused message was for, when its header says.
std::string about(const Circuit& c, const ca::Header& h) {
  const auto command = static_cast<ca::Command>(h.command);
  if (command != ca::Command::event_add && command != ca::Command::read_notify) return {};
  const std::uint32_t id = h.p2 & ~(kCtrlSubscription | kWriteIoid);
  const UpstreamPv* pv = c.gw.table.find(id);
  if (pv == nullptr) return {};
  return std::string(command == ca::Command::event_add ? " (a monitor update of " : " (a read reply of ") + pv->name +
         ")";
}

void on_create(Circuit& c, std::uint32_t cid, const ca::Response& r) {
  const auto it = c.pending.find(cid);
  if (it == c.pending.end()) {
    if (const auto* a = std::get_if<ca::AccessRights>(&r)) {
      if (auto ch = c.channels.find(cid); ch != c.channels.end()) ch->second.rights = a->rights;
    }
    return;  // a late answer for a channel no longer pending
  }
  const ca::CreateOutcome o = ca::on_create_response(it->second, r);
  if (std::holds_alternative<ca::ChannelWaiting>(o)) return;
  if (const auto* info = std::get_if<ca::ChannelInfo>(&o)) {
    c.pending.erase(it);
    c.channels[cid] = *info;
    c.gw.on_connected(c, *info);
    return;
  }
  if (const auto* e = std::get_if<ca::Error>(&o)) {
    c.gw.ctx.log().warn("ca_gateway: {}: the answer to CREATE_CHAN {} is not usable: {}; searching it again", c.peer,
                        it->second.name, e->message());
  } else {
    c.gw.ctx.log().info("ca_gateway: {} refused CREATE_CHAN {} (CREATE_CH_FAIL); searching it again", c.peer,
                        it->second.name);
  }
  c.pending.erase(it);
  c.gw.on_lost(cid, true);
}

// `read_back`: a write's READ_NOTIFY DBR_TIME; a value and stamp the monitor
// already brought are not published twice.
void on_data(Circuit& c, std::uint32_t cid, bool ctrl, const auto& reply, bool read_back = false) {
  const auto ch = c.channels.find(cid);
  if (ch == c.channels.end()) return;  // cleared meanwhile
  const std::uint16_t type = ctrl ? ca::ctrl_type(ch->second.native_type) : ca::time_type(ch->second.native_type);
  const auto decoded = ca::decode_reading(reply, ca::Expected{type, ch->second.count}, c.gw.s.limits);
  if (const auto* e = std::get_if<ca::Error>(&decoded)) {
    ++c.gw.n.bad_replies;
    const UpstreamPv* pv = c.gw.table.find(cid);
    c.gw.ctx.log().warn("ca_gateway: {}: a reply for {} is refused: {}", c.peer, pv ? pv->name : "?", e->message());
    return;
  }
  const ca::Reading& r = std::get<ca::Reading>(decoded);
  if (r.status != ca::Eca::normal) return;  // no value in it
  if (read_back) {
    const UpstreamPv* pv = c.gw.table.find(cid);
    if (pv != nullptr && pv->last && pv->last->stamp.sec_past_epoch == r.value.stamp.sec_past_epoch &&
        pv->last->stamp.nsec == r.value.stamp.nsec && pv->last->elements == r.value.elements &&
        pv->last->alarm == r.value.alarm) {
      return;
    }
  }
  if (ctrl) {
    c.gw.on_ctrl(cid, r.value.meta);
  } else {
    c.gw.on_time(cid, r.value);
  }
}

void handle(Circuit& c, const ca::Response& r) {
  if (const auto* v = std::get_if<ca::Version>(&r)) {
    c.up = true;
    c.server_minor = v->minor;
    for (auto& [cid, p] : c.pending) p.server_minor = v->minor;
  } else if (const auto* a = std::get_if<ca::AccessRights>(&r)) {
    on_create(c, a->cid, r);
  } else if (const auto* cr = std::get_if<ca::CreateChanReply>(&r)) {
    on_create(c, cr->cid, r);
  } else if (const auto* f = std::get_if<ca::CreateChFail>(&r)) {
    on_create(c, f->cid, r);
  } else if (const auto* u = std::get_if<ca::EventUpdate>(&r)) {
    on_data(c, u->subscription_id & ~kCtrlSubscription, (u->subscription_id & kCtrlSubscription) != 0, *u);
  } else if (const auto* rd = std::get_if<ca::ReadNotifyReply>(&r)) {
    if (!is_write_ioid(rd->ioid)) {
      on_data(c, rd->ioid, true, *rd);
    } else if (const auto* w = c.writes.find(rd->ioid); w != nullptr && w->reading_back) {
      const std::uint32_t cid = w->cid;
      on_data(c, cid, false, *rd, true);  // published before the asker hears "ok"
      finish_read_back(c, rd->ioid);
    }
  } else if (const auto* wr = std::get_if<ca::WriteNotifyReply>(&r)) {
    on_write_reply(c, *wr);
  } else if (const auto* d = std::get_if<ca::ServerDisconn>(&r)) {
    fail_channel_writes(c, d->cid, "the upstream disconnected the channel (SERVER_DISCONN)");
    if (c.channels.erase(d->cid) > 0 || c.pending.erase(d->cid) > 0) c.gw.on_lost(d->cid, true);
  } else if (const auto* e = std::get_if<ca::ErrorMessage>(&r)) {
    const ca::ErrorReport report = ca::read_error(*e);
    if (on_write_error(c, report)) return;  // the write's asker has it
    const UpstreamPv* pv = c.gw.table.find(report.cid);
    c.gw.ctx.log().warn("ca_gateway: {} reports {}{}", c.peer, report.message(), pv ? " (PV " + pv->name + ")" : "");
  }
  // Echo: any message proves the circuit alive (read_loop). The rest carries nothing for us.
}

asio::awaitable<void> read_loop(Circuit& c, std::string& why) {
  Gateway& g = c.gw;
  ca::CircuitReader reader(g.s.limits);
  std::array<std::uint8_t, 16384> buf;
  MonoTime last_heard = g.ctx.clock().now();
  std::optional<MonoTime> echo_sent;
  for (;;) {
    const MonoTime deadline = echo_sent ? *echo_sent + g.s.echo_timeout : last_heard + g.s.echo_idle;
    auto r = co_await (c.sock.async_read_some(asio::buffer(buf), kTuple) ||
                       expires_at(g.ctx.timers(), deadline, std::chrono::milliseconds(5)));
    co_await throw_if_stopped();
    if (r.index() == 1) {
      if (echo_sent) {
        why = "no answer to ECHO within " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(g.s.echo_timeout).count()) +
              " ms ([service.ca_gateway] echo_timeout)";
        co_return;
      }
      ca::encode(c.out, ca::Echo{});
      c.send();
      ++c.echoes;
      echo_sent = g.ctx.clock().now();
      continue;
    }
    const auto [ec, n] = std::get<0>(r);
    if (ec) {
      why = ec == asio::error::eof ? std::string("closed by the server") : ec.message();
      co_return;
    }
    c.bytes_in += n;
    last_heard = g.ctx.clock().now();
    echo_sent.reset();
    reader.feed(std::span<const std::uint8_t>(buf.data(), n));
    for (;;) {
      auto next = reader.next();
      if (std::holds_alternative<ca::NeedMore>(next)) break;
      if (const auto* b = std::get_if<ca::Broken>(&next)) {
        why = "the stream cannot be followed: " + b->error.message();
        co_return;
      }
      if (const auto* refused = std::get_if<ca::Refused>(&next)) {
        if (c.refused_messages++ == 0) {
          g.ctx.log().warn("ca_gateway: {}: a message of {} payload bytes{} is above the limits ({}); skipped, the "
                           "circuit goes on (further ones are counted, not logged: `gateway` refused)",
                           c.peer, refused->header.payload_size, about(c, refused->header), refused->error.message());
        }
        continue;
      }
      const auto decoded = ca::decode_response(std::get<ca::Frame>(next), g.s.limits);
      ++c.messages_in;
      if (const auto* e = std::get_if<ca::Error>(&decoded)) {
        ++g.n.bad_replies;
        g.ctx.log().debug("ca_gateway: {}: a message skipped: {}", c.peer, e->message());
        continue;
      }
      handle(c, std::get<ca::Response>(decoded));
    }
  }
}

asio::awaitable<void> write_loop(Circuit& c, std::string& why) {
  Gateway& g = c.gw;
  std::vector<std::uint8_t> sending;
  for (;;) {
    for (;;) {
      flush_writes(c);  // writes go out in the order asked; an abandoned one never
      if (!c.out.empty()) break;
      c.kick.expires_at(asio::steady_timer::time_point::max());
      co_await c.kick.async_wait(kTuple);
      co_await throw_if_stopped();
    }
    sending.clear();
    std::swap(sending, c.out);
    const MonoTime deadline = g.ctx.clock().now() + g.s.echo_idle + g.s.echo_timeout;
    auto r = co_await (asio::async_write(c.sock, asio::buffer(sending), kTuple) ||
                       expires_at(g.ctx.timers(), deadline, std::chrono::milliseconds(5)));
    co_await throw_if_stopped();
    if (r.index() == 1) {
      why = "output not drained within echo_idle + echo_timeout";
      co_return;
    }
    const auto [ec, n] = std::get<0>(r);
    if (ec) {
      why = "write failed: " + ec.message();
      co_return;
    }
    c.bytes_out += n;
  }
}

}  // namespace

Circuit::Circuit(Gateway& g, ca::ServerAddress s, const asio::any_io_executor& ex)
    : gw(g), server(s), peer(ca::to_string(s)), sock(ex), kick(ex) {
  ca::append_hello(out, ca::Hello{0, g.s.user, g.s.host});
}

void Circuit::send() { kick.cancel(); }

void create_channel(Circuit& c, std::uint32_t id, const std::string& name) {
  if (c.pending.contains(id) || c.channels.contains(id)) return;
  c.pending.emplace(id, ca::PendingChannel{id, name, c.server_minor, std::nullopt});
  ca::append_create_channel(c.out, id, name);
  c.send();
}

void subscribe_channel(Circuit& c, const ca::ChannelInfo& info) {
  ca::append_subscribe(c.out, info, ca::time_type(info.native_type), info.cid, ca::dbe_value | ca::dbe_alarm);
  ca::append_subscribe(c.out, info, ca::ctrl_type(info.native_type), info.cid | kCtrlSubscription, ca::dbe_property);
  ca::append_read(c.out, info, ca::ctrl_type(info.native_type), info.cid);
  c.send();
}

asio::awaitable<void> run_circuit(std::shared_ptr<Circuit> c) {
  Gateway& g = c->gw;
  std::string why;
  const tcp::endpoint at(asio::ip::address_v4(c->server.ip), c->server.port);
  const MonoTime deadline = g.ctx.clock().now() + g.s.circuit_connect_timeout;
  auto connected = co_await (c->sock.async_connect(at, kTuple) || expires_at(g.ctx.timers(), deadline));
  co_await throw_if_stopped();
  if (connected.index() == 1) {
    why = "TCP connect not answered within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(g.s.circuit_connect_timeout).count()) +
          " ms ([service.ca_gateway] circuit_connect_timeout)";
  } else if (const auto [ec] = std::get<0>(connected); ec) {
    why = "TCP connect failed: " + ec.message();
  }
  if (!why.empty()) {
    ++g.n.circuit_failures;
    g.on_circuit_end(*c, why);
    co_return;
  }
  boost::system::error_code ignored;
  c->sock.set_option(tcp::no_delay(true), ignored);
  c->tcp_up = true;
  c->opened = g.ctx.clock().now();
  ++g.n.circuits_opened;
  g.watcher.circuit_up(c->server);
  g.ctx.log().info("ca_gateway: circuit to {} open ({} channel(s) to create)", c->peer, c->pending.size());
  co_await (read_loop(*c, why) || write_loop(*c, why));
  co_await throw_if_stopped();
  ++g.n.circuits_lost;
  g.on_circuit_end(*c, why);
}

}  // namespace weft::apps::ca_gateway

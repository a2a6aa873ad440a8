// [service.ca_gateway]: every key read and checked here, so the service never
// meets a bad value; its [[service.ca_gateway.record]] entries (by name).
// Upstream addresses are IPv4 literals ("10.0.0.5" or "10.0.0.5:5066"): a
// host name would need DNS, which the loop must not wait for.
#include <boost/asio/ip/address_v4.hpp>

#include "gateway.hpp"
#include "weft/apps/assembly/device_name.hpp"

namespace weft::apps::ca_gateway {
namespace {

std::optional<ca::ServerAddress> parse_address(const std::string& text, std::uint16_t default_port) {
  const auto colon = text.rfind(':');
  const std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  std::uint16_t port = default_port;
  if (colon != std::string::npos) {
    const std::string p = text.substr(colon + 1);
    if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const long v = std::stol(p);
    if (v < 1 || v > 65535) return std::nullopt;
    port = static_cast<std::uint16_t>(v);
  }
  boost::system::error_code ec;
  const auto a = asio::ip::make_address_v4(host, ec);
  if (ec) return std::nullopt;
  return ca::ServerAddress{a.to_uint(), port};
}

std::string default_point(std::string name) {
  for (char& ch : name) {
    if (ch == ':') ch = '.';
  }
  return name;
}

}  // namespace

Settings read_settings(const ConfigSection& section, const ConfigSection& root) {
  Settings s;
  const auto upstream_port =
      static_cast<std::uint16_t>(section.integer("upstream_port", ca::default_server_port, 1, 65535));
  for (const std::string& a : section.string_array("upstream")) {
    const auto parsed = parse_address(a, upstream_port);
    if (!parsed) {
      section.fail("upstream", "'" + a + "' is not an IPv4 address with an optional port (e.g. \"10.0.0.5\" or "
                               "\"10.0.0.5:5066\"; host names are not resolved)");
    }
    s.upstream.push_back(*parsed);
  }
  if (s.upstream.empty()) {
    section.fail("upstream", "must list where to search (e.g. upstream = [\"10.0.0.255\"], a broadcast or an IOC's "
                             "address)");
  }
  s.beacon_port = static_cast<std::uint16_t>(section.integer("beacon_port", ca::default_repeater_port, 1, 65535));
  s.timeouts.connect = section.duration("connect_timeout", std::chrono::seconds(1), std::chrono::milliseconds(10));
  s.timeouts.dead = section.duration("dead_timeout", std::chrono::seconds(120), std::chrono::milliseconds(10));
  s.timeouts.inactive = section.duration("inactive_timeout", std::chrono::hours(2), std::chrono::milliseconds(10));
  s.timeouts.disconnect =
      section.duration("disconnect_timeout", std::chrono::hours(2), std::chrono::milliseconds(10));
  s.echo_idle = section.duration("echo_idle", std::chrono::seconds(30), std::chrono::milliseconds(100));
  s.echo_timeout = section.duration("echo_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
  s.circuit_connect_timeout =
      section.duration("circuit_connect_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
  s.governor_period =
      section.duration("disconnect_governor", std::chrono::seconds(10), std::chrono::milliseconds(100));
  s.max_search_period = section.duration("max_search_period", std::chrono::seconds(300), std::chrono::seconds(60));
  s.max_pvs = static_cast<std::size_t>(section.integer("max_pvs", 100'000, 1, 10'000'000));
  s.limits.max_array_bytes =
      static_cast<std::uint32_t>(section.integer("max_array_bytes", 16384, 16384, 64 * 1024 * 1024));
  s.user = section.string("user", "weft");
  s.host = section.string("host", box_device(root));
  if (s.user.empty() || s.user.size() > 512) section.fail("user", "must be 1 to 512 characters");
  if (s.host.empty() || s.host.size() > 512) section.fail("host", "must be 1 to 512 characters");

  // The box's own CA server: its replies and beacons are loops, not upstream.
  for (const std::string& a : section.string_array("ignore")) {
    const auto parsed = parse_address(a, ca::default_server_port);
    if (!parsed) section.fail("ignore", "'" + a + "' is not an IPv4 address with an optional port");
    s.own.push_back(*parsed);
  }
  if (const auto services = root.table("service")) {
    if (const auto ca_table = services->table("ca")) {
      const auto enabled = ca_table->value_as_toml("enabled");
      if (!enabled || *enabled != "false") {
        const auto port = ca_table->value_as_toml("port");
        long p = ca::default_server_port;
        if (port && !port->empty() && port->size() <= 5 && port->find_first_not_of("0123456789") == std::string::npos)
          p = std::stol(*port);  // anything else is [service.ca]'s own config error
        if (p > 0 && p <= 65535) s.own_port = static_cast<std::uint16_t>(p);
      }
    }
  }

  std::set<std::string> names, points;
  for (const ConfigSection& t : section.tables("record")) {
    RecordEntry r;
    r.name = t.required_string("name");
    if (r.name.empty() || !ca::search_entry_fits(r.name.size(), ca::default_search_datagram_bytes) ||
        r.name.size() > s.limits.max_name_length) {
      t.fail("name", "must be a PV name of 1 to " + std::to_string(s.limits.max_name_length) + " characters");
    }
    r.point = t.string("point", default_point(r.name));
    if (r.point.empty()) t.fail("point", "must not be empty");
    r.writable = t.boolean("writable", false);
    if (!names.insert(r.name).second) t.fail("name", "'" + r.name + "' is listed twice");
    if (!points.insert(r.point).second) t.fail("point", "'" + r.point + "' is the point of two entries");
    t.reject_unknown_keys();
    s.records.push_back(std::move(r));
  }
  for (const std::string& pattern : section.string_array("proxy")) {
    const std::string fault = proxy_pattern_fault(pattern, s.limits.max_name_length);
    if (!fault.empty()) {
      section.fail("proxy", "'" + pattern + "' " + fault + " (proxy lists globs of upstream PV names, e.g. \"ioc:*\")");
    }
    s.proxy.push_back(pattern);
  }
  if (s.records.size() > s.max_pvs) {
    section.fail("max_pvs", std::to_string(s.records.size()) + " record entries do not fit max_pvs = " +
                                std::to_string(s.max_pvs) + "; raise max_pvs");
  }
  return s;
}

}  // namespace weft::apps::ca_gateway

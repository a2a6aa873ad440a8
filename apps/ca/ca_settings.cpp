// [service.ca] read into Settings: every key checked here, each error
// naming file:line:col and the key (ConfigSection::fail), so the service
// itself never meets a bad value. Also its [[service.ca.access]] rules (in
// file order: first match wins) and the top-level [[soft_point]] tables.
#include <chrono>
#include <cstdint>

#include "ca_server.hpp"
#include "weft/apps/assembly/device_name.hpp"
#include "weft/apps/assembly/point_info_config.hpp"
#include "weft/apps/ca/soft_state.hpp"

namespace weft::apps::ca_server {
namespace {

// An array soft point: max_length (1 .. what max_array_bytes carries as
// doubles) and an initial list of at most that many numbers; no alarm or
// control limits and no states (an EPICS waveform has none: no limit alarm,
// no clamp). Its value is a DOUBLE array of 0..max_length elements.
void read_array_soft_point(const ConfigSection& t, SoftPoint& sp, std::uint32_t max_array_bytes) {
  const std::int64_t most = max_array_bytes / 8;
  if (!t.has("max_length")) {
    t.fail("max_length", "an array soft point needs max_length = N, the most elements it holds (1 to " +
                             std::to_string(most) + " with [service.ca] max_array_bytes = " +
                             std::to_string(max_array_bytes) + ")");
  }
  const std::int64_t n = t.integer("max_length", 1);
  if (n < 1) t.fail("max_length", "must be at least 1");
  if (n > most) {
    t.fail("max_length", std::to_string(n) + " doubles are " + std::to_string(n * 8) + " bytes, more than a CA " +
                             "payload may carry ([service.ca] max_array_bytes = " + std::to_string(max_array_bytes) +
                             "): use at most " + std::to_string(most) + ", or raise max_array_bytes to " +
                             std::to_string(n * 8) + " or more");
  }
  sp.max_length = static_cast<std::uint32_t>(n);
  const std::vector<double> initial = t.number_array("initial");
  if (initial.size() > sp.max_length) {
    t.fail("initial", std::to_string(initial.size()) + " elements, more than max_length = " +
                          std::to_string(sp.max_length) + ": shorten the list or raise max_length");
  }
  sp.initial = NumberArray(initial);
  for (const char* key : {"lolo", "low", "high", "hihi", "control_low", "control_high", "states"}) {
    if (t.has(key)) {
      t.fail(key, "an array soft point takes no alarm or control limits and no states (as an EPICS waveform); "
                  "remove it, or make the point a number");
    }
  }
}

// [[soft_point]] name, type (number, integer, text, bool, enum + strings,
// array + max_length), initial, writable, persist.
SoftPoint read_soft_point(const ConfigSection& t, std::uint32_t max_array_bytes) {
  SoftPoint sp;
  sp.name = t.required_string("name");
  if (sp.name.empty()) t.fail("name", "must not be empty");
  const std::string type = t.string("type", "number");
  if (type == "number") {
    sp.type = ca::ValueType::float64;
    sp.initial = t.number("initial", 0.0);
  } else if (type == "integer") {
    sp.type = ca::ValueType::int32;
    sp.initial = t.integer("initial", 0, INT32_MIN, INT32_MAX);
  } else if (type == "text") {
    sp.type = ca::ValueType::string;
    sp.initial = t.string("initial", "");
    if (std::get<std::string>(sp.initial).size() > 39) t.fail("initial", "CA strings hold at most 39 characters");
  } else if (type == "bool") {
    sp.type = ca::ValueType::enumerated;
    sp.is_bool = true;
    sp.initial = t.boolean("initial", false);
  } else if (type == "enum") {
    sp.type = ca::ValueType::enumerated;
    sp.strings = t.string_array("strings");
    if (sp.strings.empty() || sp.strings.size() > ca::max_enum_states) {
      t.fail("strings", "an enum needs 1 to 16 state names");
    }
    for (const auto& name : sp.strings) {
      if (name.size() > 25) t.fail("strings", "'" + name + "' is longer than CA's 25 characters per state");
    }
    sp.initial = t.integer("initial", 0, 0, static_cast<std::int64_t>(sp.strings.size()) - 1);
  } else if (type == "array") {
    sp.type = ca::ValueType::float64;
    read_array_soft_point(t, sp, max_array_bytes);
  } else {
    t.fail("type", "'" + type + "' is not one of number, integer, text, bool, enum, array");
  }
  if (type != "array" && t.has("max_length")) {
    t.fail("max_length", "only an array soft point (type = \"array\") has a max_length");
  }
  sp.writable = t.boolean("writable", false);
  if (type == "enum" && t.has("states")) t.fail("states", "an enum soft point names its states in strings = [...]");
  sp.info = read_point_info(t, sp.is_bool ? StateNames::two : StateNames::none);
  sp.kind = type;
  sp.persist = t.boolean("persist", false);
  t.reject_unknown_keys();
  return sp;
}

}  // namespace

asio::ip::address_v4 interface_address(const std::string& text, const ConfigSection* section) {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address_v4(text, ec);
  if (ec && section) section->fail("interfaces", "'" + text + "' is not an IPv4 address (e.g. \"127.0.0.1\")");
  return a;
}

Settings read_settings(const ConfigSection& section, const ConfigSection& root, store::Store* store) {
  Settings s;
  s.store = store;
  s.write_timeout = section.duration("write_timeout", std::chrono::seconds(5), std::chrono::milliseconds(100));
  s.port = static_cast<std::uint16_t>(section.integer("port", ca::default_server_port, 0, 65535));
  s.interfaces = section.string_array("interfaces");
  for (const auto& i : s.interfaces) interface_address(i, &section);
  s.device = section.string("device", box_device(root));
  if (s.device.empty()) section.fail("device", "must not be empty");
  s.repeater_port =
      static_cast<std::uint16_t>(section.integer("repeater_port", ca::default_repeater_port, 1, 65535));
  s.beacon_period = section.duration("beacon_period", std::chrono::seconds(15), std::chrono::milliseconds(100));
  s.limits.max_array_bytes =
      static_cast<std::uint32_t>(section.integer("max_array_bytes", 16384, 16384, 64 * 1024 * 1024));
  s.max_circuits = static_cast<std::size_t>(section.integer("max_circuits", 256, 1, 100'000));
  s.max_channels = static_cast<std::size_t>(section.integer("max_channels", 4096, 1, 1'000'000));
  s.max_subscriptions = static_cast<std::size_t>(section.integer("max_subscriptions", 16, 1, 1024));
  s.send_buffer = static_cast<std::size_t>(section.integer("send_buffer", 256 * 1024, 4096, 64 * 1024 * 1024));
  s.socket_send_buffer = static_cast<std::size_t>(
      section.integer("socket_send_buffer", 64 * 1024, 0, 64 * 1024 * 1024));
  if (s.socket_send_buffer != 0 && s.socket_send_buffer < 4096) {
    section.fail("socket_send_buffer", "must be 0 (the kernel's default) or at least 4096");
  }
  s.client_timeout =
      section.duration("client_timeout", std::chrono::seconds(60), std::chrono::seconds(1));
  for (const ConfigSection& rule : section.tables("access")) {
    AccessRule a;
    a.pv = rule.string("pv", "*");
    a.host = rule.string("host", "*");
    a.user = rule.string("user", "*");
    const std::string grant = rule.string("grant", "read");
    if (grant == "none") {
      a.rights = 0;
    } else if (grant == "read") {
      a.rights = ca::access_read;
    } else if (grant == "write") {
      a.rights = ca::access_read | ca::access_write;
    } else {
      rule.fail("grant", "'" + grant + "' is not one of none, read, write");
    }
    rule.reject_unknown_keys();
    s.access.push_back(std::move(a));
  }
  for (const ConfigSection& t : root.tables("soft_point")) {
    s.soft_points.push_back(read_soft_point(t, s.limits.max_array_bytes));
    if (!s.soft_points.back().persist || !s.state_path.empty()) continue;
    const auto weftd = root.table("weftd");
    const std::string data_dir = weftd ? weftd->string("data_dir", "") : std::string();
    if (data_dir.empty()) {
      t.fail("persist", "needs [weftd] data_dir: the last written values are kept in <data_dir>/" +
                            std::string(ca_pv::kSoftStateFile) + "; set data_dir or remove persist");
    }
    s.state_path = data_dir + (data_dir.back() == '/' ? "" : "/") + std::string(ca_pv::kSoftStateFile);
  }
  return s;
}

}  // namespace weft::apps::ca_server

// [service.upload]: every key, its default and its check.
//
//   url = "mqtt://127.0.0.1:1883"   # or mqtts://HOST[:PORT] for TLS (required)
//   client_id = "weft-<device>"     # MQTT client id
//   username = ""                   # login (optional)...
//   password = ""                   # ...with this password, or
//   password_file = ""              # the first line of this file (keeps it out of the config)
//   ca_file = ""                    # mqtts: CA to verify the broker (default: the system's CAs)
//   cert_file = ""                  # mqtts: client certificate and its key, both or neither
//   key_file = ""
//   topic = "weft/{device}/readings"  # {device}, {point}: with {point} a batch is one message per point
//   device = "<[weftd] device>"     # names the box in topics and messages (default: the box's name)
//   batch_rows = 500                # readings per batch
//   max_in_flight = 8               # batches without PUBACK (one slot is kept for live data)
//   backlog_rate = 2000             # rows/s for the backlog after an outage
//   live_period = "200ms"           # how often new rows are looked for
//   keepalive = "30s"               # MQTT keepalive
//   connect_timeout = "10s"         # TCP connect to CONNACK
//   min_backoff = "1s"              # reconnect backoff, doubling with jitter...
//   max_backoff = "60s"             # ...up to this
//   needs = ["record"]              # "record" is always added
//   accept_config = false           # apply TOML published to <topic_prefix>/config/set
//   topic_prefix = "weft/{device}"  # config/set and config/result live under it
//   max_config_bytes = 262144       # a larger config/set payload is refused
//   remote_settle = "60s"           # a remote change (or one restarting upload) is kept only if
//                                   # upload published its outcome within this; else rolled back
#include "weft/apps/upload/upload_config.hpp"

#include "weft/apps/assembly/device_name.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <unistd.h>

namespace weft::apps {
namespace {

// Config time, before the loop runs: a plain file read is fine here.
std::string read_password_file(const ConfigSection& s, const std::string& path) {
  std::ifstream in(path);
  if (!in) s.fail("password_file", "cannot read '" + path + "': " + std::strerror(errno) +
                                       "; check the path and that weftd may read it");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) s.fail("password_file", "'" + path + "' is empty; its first line is the password");
  return line;
}

Duration remote_settle_of(const ConfigSection& s) {
  return s.duration("remote_settle", std::chrono::seconds(60), std::chrono::milliseconds(100), std::chrono::hours(1));
}

}  // namespace

Duration read_remote_settle(const ConfigSection& root) {
  const auto services = root.table("service");
  const auto upload = services ? services->table("upload") : std::nullopt;
  return upload ? remote_settle_of(*upload) : std::chrono::seconds(60);
}

UploadSettings read_upload_settings(const ConfigSection& s) {
  UploadSettings out;
  const std::string url_text = s.required_string("url");
  auto url = mqtt::parse_broker_url(url_text);
  if (auto* why = std::get_if<std::string>(&url)) s.fail("url", *why);
  out.client.url = std::get<mqtt::BrokerUrl>(url);

  out.device = s.string("device", box_device(s.document().root()));
  if (out.device.empty()) s.fail("device", "must not be empty");
  out.client.client_id = s.string("client_id", "weft-" + out.device);
  if (out.client.client_id.size() > 65535) s.fail("client_id", "longer than 65535 bytes");

  out.client.username = s.string("username", "");
  out.client.password = s.string("password", "");
  const std::string password_file = s.string("password_file", "");
  if (!password_file.empty()) {
    if (!out.client.password.empty()) s.fail("password_file", "set either password or password_file, not both");
    out.client.password = read_password_file(s, password_file);
  }
  if (!out.client.password.empty() && out.client.username.empty())
    s.fail("username", "a password needs a username");

  out.client.ca_file = s.string("ca_file", "");
  out.client.cert_file = s.string("cert_file", "");
  out.client.key_file = s.string("key_file", "");
  for (const char* key : {"ca_file", "cert_file", "key_file"})
    if (!out.client.url.tls && !s.string(key, "").empty())
      s.fail(key, "TLS files need a TLS broker URL; use mqtts:// in url (now '" + url_text + "')");
  if (out.client.cert_file.empty() != out.client.key_file.empty())
    s.fail(out.client.cert_file.empty() ? "cert_file" : "key_file",
           "a client certificate needs its key: set both cert_file and key_file, or neither");

  auto topic = mqtt::TopicTemplate::parse(s.string("topic", "weft/{device}/readings"));
  if (auto* why = std::get_if<std::string>(&topic)) s.fail("topic", *why);
  out.topic = std::get<mqtt::TopicTemplate>(topic);

  out.batch_rows = static_cast<std::size_t>(s.integer("batch_rows", 500, 1, 100'000));
  out.max_in_flight = static_cast<unsigned>(s.integer("max_in_flight", 8, 2, 1000));
  out.client.max_in_flight = out.max_in_flight;
  if (out.topic.uses_point()) out.client.max_in_flight = 0;  // many messages per batch: the library must not cap them
  out.backlog_rate = s.number("backlog_rate", 2000);
  if (!(out.backlog_rate > 0) || out.backlog_rate > 1e7) s.fail("backlog_rate", "must be in (0, 10000000] rows/s");
  out.live_period = s.duration("live_period", out.live_period, std::chrono::milliseconds(10), std::chrono::minutes(1));
  out.client.keepalive = s.duration("keepalive", std::chrono::seconds(30), std::chrono::seconds(5),
                                    std::chrono::seconds(65535));
  out.client.connect_timeout =
      s.duration("connect_timeout", std::chrono::seconds(10), std::chrono::milliseconds(100), std::chrono::minutes(5));
  out.min_backoff = s.duration("min_backoff", out.min_backoff, std::chrono::milliseconds(10), std::chrono::hours(1));
  out.max_backoff = s.duration("max_backoff", out.max_backoff, out.min_backoff, std::chrono::hours(24));

  out.accept_config = s.boolean("accept_config", false);
  std::string prefix = s.string("topic_prefix", "weft/{device}");
  for (std::size_t at; (at = prefix.find("{device}")) != std::string::npos;) prefix.replace(at, 8, out.device);
  if (prefix.empty() || prefix.back() == '/' || prefix.find_first_of("+#") != std::string::npos ||
      prefix.find('{') != std::string::npos)
    s.fail("topic_prefix", "must be a topic without wildcards (+, #), placeholders other than {device}, or a trailing "
                           "'/', like \"weft/{device}\"");
  out.topic_prefix = std::move(prefix);
  out.max_config_bytes = static_cast<std::size_t>(s.integer("max_config_bytes", 256 * 1024, 1024, 16 * 1024 * 1024));
  out.client.max_incoming_bytes = out.max_config_bytes;
  out.remote_settle = remote_settle_of(s);

  out.needs = s.string_array("needs");
  if (std::find(out.needs.begin(), out.needs.end(), "record") == out.needs.end()) out.needs.push_back("record");
  return out;
}

}  // namespace weft::apps

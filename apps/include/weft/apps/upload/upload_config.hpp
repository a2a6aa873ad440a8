// The [service.upload] table: where the broker is, how to log in, what the
// messages look like and how fast a backlog drains. Reading it validates
// it (every mistake is a ConfigError at file:line naming the key).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "weft/core/clock.hpp"
#include "weft/core/config.hpp"
#include "weft/drivers/mqtt/client.hpp"
#include "weft/drivers/mqtt/topic_template.hpp"

namespace weft::apps {

struct UploadSettings {
  mqtt::ClientOptions client;  // url, client_id, credentials, TLS, keepalive, connect_timeout, max_in_flight
  mqtt::TopicTemplate topic;
  std::string device;
  std::size_t batch_rows = 500;     // readings per batch (one message per topic in it)
  unsigned max_in_flight = 8;       // batches published and not yet acknowledged (>= 2: one is kept for live data)
  double backlog_rate = 2000;       // rows/s at most for the backlog (live data is not limited)
  Duration live_period = std::chrono::milliseconds(200);  // how often the store is checked for new rows
  Duration min_backoff = std::chrono::seconds(1);         // reconnect backoff, doubling...
  Duration max_backoff = std::chrono::seconds(60);        // ...up to this
  std::vector<std::string> needs;   // always includes "record"
  // Remote config (README "Remote configuration"): config/set is subscribed
  // to only with accept_config; results go to config/result regardless.
  bool accept_config = false;
  std::string topic_prefix;         // {device} expanded: "<prefix>/config/set", "<prefix>/config/result"
  std::size_t max_config_bytes = 256 * 1024;  // a larger config/set payload is refused, unread
  Duration remote_settle = std::chrono::seconds(60);  // upload must publish a change's outcome within this
};

UploadSettings read_upload_settings(const ConfigSection& section);

// [service.upload] remote_settle of a whole config (`root`), checked as
// read_upload_settings checks it; the default (60 s) when there is no
// upload table. Reads nothing else (no files): fine on the loop.
Duration read_remote_settle(const ConfigSection& root);

}  // namespace weft::apps

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
};

UploadSettings read_upload_settings(const ConfigSection& section);

}  // namespace weft::apps

// `[weftd] device` (device_name.hpp). gethostname() at config time, before
// the loop runs.
#include "weft/apps/assembly/device_name.hpp"

#include <unistd.h>

namespace weft::apps {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "weft";
  return buf;
}

std::string box_device(const ConfigSection& root) {
  const auto weftd = root.table("weftd");
  if (!weftd) return host_name();
  const std::string device = weftd->string("device", host_name());
  if (device.empty()) weftd->fail("device", "must not be empty (leave it out for the host name)");
  return device;
}

}  // namespace weft::apps

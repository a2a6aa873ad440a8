// The box's name, `[weftd] device` (default: the host name, "weft" if it
// has none): what the services that name the box outside it use unless
// their own `device` key says otherwise (ca's PV names "{device}:{point}",
// upload's messages and client ID). Read from the config's root, so every
// service sees the same name; empty is refused at file:line.
#pragma once

#include <string>

#include "weft/core/config.hpp"

namespace weft::apps {

std::string host_name();
std::string box_device(const ConfigSection& root);

}  // namespace weft::apps

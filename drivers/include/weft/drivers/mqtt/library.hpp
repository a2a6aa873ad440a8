// When libmosquitto is loaded. weftd does not link it: the MQTT client
// dlopens it (and, through it, OpenSSL) at its first connect, so a box with
// no MQTT never maps it. preload_mqtt_library() loads it now, for what must
// see every library weftd can load (weftd --licenses and --sbom).
#pragma once

#include <string>

namespace weft::mqtt {

// Loads and initialises libmosquitto now (blocking file I/O: never on the
// loop). False: `error` says what is missing and what to do.
bool preload_mqtt_library(std::string& error);

}  // namespace weft::mqtt

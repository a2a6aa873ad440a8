// How an upstream CA reading becomes a bus reading (pure, unit-tested): the
// value as the bus's Value types allow (DOUBLE/FLOAT -> number,
// SHORT/LONG/CHAR/ENUM -> integer, STRING -> text; a DOUBLE/FLOAT/LONG/
// SHORT/CHAR channel whose native count is above 1 -> an array of numbers,
// whatever its current length, even 0 or 1; an ENUM or STRING array and an
// empty scalar -> nullopt: not published), the quality (alarm severity INVALID ->
// comm_error, else good; a disconnected channel is published stale by the
// caller) and the wall time (the upstream's EPICS time stamp in ns since
// the Unix epoch; nullopt for a never-processed record's zero stamp).
#pragma once

#include <cstdint>
#include <optional>

#include "weft/core/reading.hpp"
#include "weft/drivers/ca/dbr.hpp"

namespace weft::apps::ca_gateway {

// `native_count`: the channel's element count from CREATE_CHAN.
std::optional<weft::Value> bus_value(const ca::Value& v, std::uint32_t native_count = 1);
Quality bus_quality(const ca::Value& v);
std::optional<std::int64_t> wall_ns_of(const ca::TimeStamp& stamp);

}  // namespace weft::apps::ca_gateway

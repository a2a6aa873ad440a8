// The upload message: one compact JSON object per (batch, topic).
//
//   {"batch":1201,"first_seq":1201,"last_seq":1700,"device":"box7","backlog":false,
//    "readings":[{"seq":1201,"point":"plc.h100","value":1000,"quality":"good",
//                 "t":1767225600123456789,"mono_ns":3600000000000,"boot":"6f1c..."}]}
//
// batch: the first seq of the batch's range, the same on every resend of it,
// so a consumer can drop a duplicate message; every reading also carries its
// seq, unique per box for ever (the key to drop duplicates across restarts).
// t: wall time in ns, corrected from the clock events recorded for its boot.
// value: a number, true/false, a string, or null for a NaN or infinity; an
// array soft point's value a JSON array of numbers ([1.5,2,null]: null likewise).
#pragma once

#include "weft/apps/json/json_text.hpp"  // append_json_string, used by the tests too

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/drivers/store/store.hpp"

namespace weft::apps {

struct BatchHeader {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string_view device;
  bool backlog = false;  // catch-up data after an outage, sent behind live data
};

std::string encode_batch(const BatchHeader& header, const std::vector<const store::StoredReading*>& readings);

}  // namespace weft::apps

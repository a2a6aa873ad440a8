// The store's console commands, registered by the record service for the
// length of its run: `sql SELECT ...` (one read-only statement on the
// store's read-only connection, row and time limits) and `store` (the
// store's counters, record's bus queue and the gaps) and `gaps` (every lost seq range with
// why: the delivery ledger's answer). Loop thread only.
#pragma once

#include <vector>

#include "weft/core/commands.hpp"
#include "weft/drivers/store/store.hpp"

namespace weft {
class Context;
}

namespace weft::apps {

class RecordIntake;
// `intake`: record's bus queue (shown by `store`); both must outlive the registrations.
std::vector<CommandRegistration> add_store_commands(Context& ctx, store::Store& store, const RecordIntake& intake);

// Rendering, for tests: a query result as an aligned table with a footer
// ("(3 rows)", "(truncated at 1000 rows)"), and as JSON.
std::string render_query_text(const store::QueryResult& r, const store::QueryLimits& limits);
std::string render_query_json(const store::QueryResult& r, const store::QueryLimits& limits);
// The newest `most` gaps as a table appended to `text` (with a note when
// older ones are left out); returns those gaps as JSON objects.
std::vector<std::string> render_gaps(const std::vector<store::Gap>& gaps, std::size_t most, std::string& text);

}  // namespace weft::apps

// Row encoding of the store: see rows.hpp and the schema in migrations.cpp.
#include "rows.hpp"

#include <cmath>
#include <limits>

#include <sqlite3.h>

namespace weft::store {
namespace {

// kArray: the elements as JSON text ("[1.5,2]", NaN null, infinities
// 9e999: exact). Text rather than a blob of doubles: sqlite3 and json_each()
// read it as it is, short values are shorter than 8 bytes each, and an
// older weftd (which knows kinds 0..3 and reads any other as text) uploads
// it as that JSON text after a rollback instead of raw bytes.
enum Kind : std::int64_t { kDouble = 0, kInteger = 1, kBool = 2, kString = 3, kArray = 4 };

}  // namespace

RowWriter::RowWriter(sql::Db& db)
    : db_(db),
      insert_reading_(db, "INSERT INTO readings(seq, point, kind, value, quality, mono_ns, boot, wall_ns) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      find_point_(db, "SELECT id FROM points WHERE name = ?1"),
      insert_point_(db, "INSERT INTO points(name) VALUES(?1)"),
      find_boot_(db, "SELECT id FROM boots WHERE boot_id = ?1"),
      insert_boot_(db, "INSERT INTO boots(boot_id) VALUES(?1)"),
      insert_clock_(db, "INSERT OR REPLACE INTO clock_events(boot, mono_ns, offset_ns) VALUES(?1, ?2, ?3)"),
      last_lost_(db, "SELECT first_seq, last_seq, why FROM lost WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1"),
      extend_lost_(db, "UPDATE lost SET last_seq = ?2 WHERE first_seq = ?1"),
      insert_lost_(db, "INSERT OR REPLACE INTO lost(first_seq, last_seq, why) VALUES(?1, ?2, ?3)"),
      delete_delivered_(db, "DELETE FROM delivered WHERE first_seq BETWEEN ?1 AND ?2"),
      insert_delivered_(db, "INSERT INTO delivered(first_seq, last_seq) VALUES(?1, ?2)"),
      insert_put_(db, "INSERT INTO put_log(wall_ns, who, peer, pv, old_value, new_value, result) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      trim_puts_(db, "DELETE FROM put_log WHERE id <= (SELECT max(id) FROM put_log) - ?1") {}

void RowWriter::insert_put(const PutRecord& p) {
  insert_put_.bind(1, p.wall_ns)
      .bind_text(2, p.who)
      .bind_text(3, p.peer)
      .bind_text(4, p.pv)
      .bind_text(5, p.old_value)
      .bind_text(6, p.new_value)
      .bind_text(7, p.result)
      .run();
}

void RowWriter::trim_puts(std::int64_t keep) { trim_puts_.bind(1, keep).run(); }

std::int64_t RowWriter::point_id(const std::string& name) {
  if (auto it = points_.find(name); it != points_.end()) return it->second;
  std::int64_t id = 0;
  find_point_.reset();
  if (find_point_.bind_text(1, name).step()) {
    id = find_point_.int64(0);
  } else {
    insert_point_.bind_text(1, name).run();
    id = sqlite3_last_insert_rowid(db_.handle());
    new_points_.push_back(name);
  }
  find_point_.reset();
  points_.emplace(name, id);
  return id;
}

std::int64_t RowWriter::boot_row(const BootId& boot) {
  for (const auto& [known, id] : boots_) {
    if (known == boot) return id;
  }
  const std::string uuid = boot.to_string();
  std::int64_t id = 0;
  find_boot_.reset();
  if (find_boot_.bind_text(1, uuid).step()) {
    id = find_boot_.int64(0);
  } else {
    insert_boot_.bind_text(1, uuid).run();
    id = sqlite3_last_insert_rowid(db_.handle());
    new_boots_.push_back(boot);
  }
  find_boot_.reset();
  boots_.emplace_back(boot, id);
  return id;
}

void RowWriter::insert_reading(std::uint64_t seq, const Reading& r) {
  const std::int64_t point = point_id(r.point);
  const std::int64_t boot = boot_row(r.boot);
  auto& st = insert_reading_;
  st.bind(1, static_cast<std::int64_t>(seq)).bind(2, point);
  if (const double* d = std::get_if<double>(&r.value)) {
    st.bind(3, std::int64_t{kDouble});
    if (std::isnan(*d)) st.bind_null(4);  // SQLite would store NaN as NULL anyway: say so
    else st.bind(4, *d);
  } else if (const std::int64_t* i = std::get_if<std::int64_t>(&r.value)) {
    st.bind(3, std::int64_t{kInteger}).bind(4, *i);
  } else if (const bool* b = std::get_if<bool>(&r.value)) {
    st.bind(3, std::int64_t{kBool}).bind(4, std::int64_t{*b ? 1 : 0});
  } else if (const std::string* text = std::get_if<std::string>(&r.value)) {
    st.bind(3, std::int64_t{kString}).bind_text(4, *text);
  } else {
    st.bind(3, std::int64_t{kArray}).bind_text(4, number_array_json(std::get<NumberArray>(r.value).values(), true));
  }
  st.bind(5, static_cast<std::int64_t>(r.quality)).bind(6, r.mono_ns).bind(7, boot).bind(8, r.wall_ns);
  st.run();
}

void RowWriter::insert_clock_event(const BootId& boot, std::int64_t mono_ns, std::int64_t offset_ns) {
  insert_clock_.bind(1, boot_row(boot)).bind(2, mono_ns).bind(3, offset_ns).run();
}

void RowWriter::add_lost(std::uint64_t first, std::uint64_t last, std::string_view why) {
  last_lost_.reset();
  if (last_lost_.bind(1, static_cast<std::int64_t>(first)).step()) {
    const auto prev_first = static_cast<std::uint64_t>(last_lost_.int64(0));
    const auto prev_last = static_cast<std::uint64_t>(last_lost_.int64(1));
    const std::string prev_why = last_lost_.text(2);
    last_lost_.reset();
    if (prev_why == why && prev_last + 1 >= first) {
      if (last > prev_last) extend_lost_.bind(1, static_cast<std::int64_t>(prev_first)).bind(2, static_cast<std::int64_t>(last)).run();
      return;
    }
  }
  last_lost_.reset();
  insert_lost_.bind(1, static_cast<std::int64_t>(first)).bind(2, static_cast<std::int64_t>(last)).bind_text(3, why).run();
}

void RowWriter::put_delivered(std::uint64_t first, std::uint64_t last) {
  delete_delivered_.bind(1, static_cast<std::int64_t>(first)).bind(2, static_cast<std::int64_t>(last)).run();
  insert_delivered_.bind(1, static_cast<std::int64_t>(first)).bind(2, static_cast<std::int64_t>(last)).run();
}

void RowWriter::committed() {
  new_points_.clear();
  new_boots_.clear();
}

void RowWriter::rolled_back() {
  for (const auto& name : new_points_) points_.erase(name);
  for (const BootId& boot : new_boots_) std::erase_if(boots_, [&](const auto& known) { return known.first == boot; });
  committed();
}

StoredReading read_reading(const sql::Statement& row) {
  StoredReading out;
  out.seq = static_cast<std::uint64_t>(row.int64(0));
  Reading& r = out.reading;
  r.point = row.text(1);
  switch (row.int64(2)) {
    case kDouble:
      r.value = row.column_type(3) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN() : row.real(3);
      break;
    case kInteger: r.value = row.int64(3); break;
    case kBool: r.value = row.int64(3) != 0; break;
    case kArray: {
      // Written by insert_reading, so it parses; a row edited by hand into
      // something else reads as its text rather than as a made-up array.
      std::string text = row.text(3);
      if (auto array = parse_number_array_json(text)) r.value = std::move(*array);
      else r.value = std::move(text);
      break;
    }
    default: r.value = row.text(3); break;
  }
  const std::int64_t q = row.int64(4);
  r.quality = q >= 0 && q <= static_cast<std::int64_t>(Quality::comm_error) ? static_cast<Quality>(q) : Quality::stale;
  r.mono_ns = row.int64(5);
  r.boot = BootId::parse(row.text(6));
  r.wall_ns = row.int64(7);
  out.corrected_wall_ns = row.int64(8);
  return out;
}

}  // namespace weft::store

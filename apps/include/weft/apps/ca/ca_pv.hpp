// How bus points look as Channel Access PVs: the PV name of a point
// ("{device}:{point}" with '.' in the point mapped to ':'), the field a
// client appended (".VAL" and the other record fields), and a reading as a
// CA value (native type from the first reading, quality as alarm, wall time
// as an EPICS time stamp), the point's description (PointInfo) as CA
// metadata and limit alarms, with the events a change raises. Pure
// functions, no Asio: the ca service and its tests share them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/core/point_info.hpp"
#include "weft/core/reading.hpp"
#include "weft/drivers/ca/dbr.hpp"

namespace weft::apps::ca_pv {

// "box" + "weftd.uptime_s" -> "box:weftd:uptime_s".
std::string pv_name(std::string_view device, std::string_view point);

// A requested name split into the PV and its field: "box:t.VAL" -> {"box:t", "VAL"};
// a name without a dot gives the field "VAL". Only the text after the LAST
// dot is a field, and only when it is 1..4 upper-case letters (as record
// fields are); otherwise the whole name is the PV.
struct FieldRef {
  std::string pv;
  std::string field;
};
FieldRef split_field(std::string_view name);

// The record fields served besides VAL, each its own read-only PV
// ("box:t.EGU"), as an IOC's ai record answers them.
enum class Field : std::uint8_t { val, name, desc, egu, prec, hopr, lopr, drvh, drvl, hihi, high, low, lolo, sevr, stat };
// "VAL" -> val, "EGU" -> egu, ...; a field not served: nullopt.
std::optional<Field> parse_field(std::string_view field) noexcept;

// A field's value from its PV's value and description, with the PV's alarm
// and time stamp (an IOC returns the record's for any field): NAME, DESC,
// EGU as STRING; PREC as SHORT; the limits as DOUBLE (what DBR_CTRL sends:
// an unset alarm limit is NaN, unset display limits 0); SEVR and STAT as
// ENUM with EPICS's menu strings (menuAlarmSevr, menuAlarmStat). VAL: `pv`.
ca::Value field_value(Field f, const ca::Value& pv, std::string_view pv_name, const PointInfo* info);

// The events on the PV that change a field, as the field's events: VAL
// all of them; SEVR and STAT a DBE_ALARM (as VALUE | LOG | ALARM); the
// metadata fields a DBE_PROPERTY (as VALUE | LOG | PROPERTY); NAME none.
std::uint16_t field_events(Field f, std::uint16_t pv_events) noexcept;

// The native CA type for a point's first value: double -> DOUBLE, integer ->
// LONG, bool -> ENUM ("false", "true"), text -> STRING, an array of numbers
// -> DOUBLE (its elements; the count is the caller's: ca_server's Pv).
ca::ValueType native_type(const weft::Value& v) noexcept;
// The same, for a point with a description: a number, integer or bool with
// state names is an ENUM (its value the state's index).
ca::ValueType native_type(const weft::Value& v, const PointInfo* info) noexcept;

// The reading as a PV of `native` type: its value converted (a later reading
// of another variant type is converted, text that is no number reads as 0
// with INVALID/CALC), quality as alarm (comm-error: INVALID/COMM, stale:
// INVALID/TIMEOUT), the wall time as the time stamp.
ca::Value to_ca(const Reading& r, ca::ValueType native);

// The point's description on a PV's value: EGU, PREC (non-integer numbers
// only), display limits (HOPR/LOPR, 0 when unset), alarm limits
// (HIHI/HIGH/LOW/LOLO, NaN when unset, as EPICS 7 records send them),
// control limits (DRVH/DRVL, the display limits when unset), an ENUM's state
// names; and, for a number with no alarm yet (a good reading), the alarm its
// limits give: at or above hihi MAJOR/HIHI, at or below lolo MAJOR/LOLO, at
// or above high MINOR/HIGH, at or below low MINOR/LOW (EPICS's order).
void apply_point_info(ca::Value& v, const PointInfo& info);

// What a PV's monitors were last sent, per event class (EPICS's MLST and
// ALST): the deadbands compare a new value with these, not with the
// previous reading, so a slow drift is posted once it adds up.
struct LastPosted {
  ca::Elements value;  // DBE_VALUE
  ca::Elements log;    // DBE_LOG (archive)
};

// The DBE_* bits a new value raises (EPICS monitor semantics):
// DBE_VALUE when it moved by more than the monitor deadband from
// last.value (0: any change; negative: every reading, changed or not),
// DBE_LOG likewise with the archive deadband, DBE_ALARM when status or
// severity changed. A number compares by its distance (a change to or from
// NaN or an infinity always counts), an array element by element (a new
// length, or any element beyond the deadband); text by equality.
// Updates `last` for each class raised.
std::uint16_t events_for(LastPosted& last, const ca::Value& before, const ca::Value& after, double monitor_deadband,
                         double archive_deadband);

}  // namespace weft::apps::ca_pv

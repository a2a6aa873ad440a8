// Internal: the seam between the replaced operator new (alloc_accounting.cpp),
// the slice scope (service_stats.cpp) and critical sections
// (critical_section.cpp). The open section of this thread lives next to the
// allocation target, in alloc_accounting.cpp, so operator new reads one
// thread-local more and calls out only when a section is open.
#pragma once

#include <cstddef>

namespace weft {
class CriticalSection;
namespace detail {

CriticalSection* current_critical() noexcept;
void set_current_critical(CriticalSection* section) noexcept;
// operator new inside an open section (critical_section.cpp).
void on_critical_allocation(CriticalSection& section, std::size_t size, const void* site) noexcept;
// A slice ends: the sections opened in it and still open stop counting.
void end_slice_criticals(CriticalSection* open_at_slice_start) noexcept;

}  // namespace detail
}  // namespace weft

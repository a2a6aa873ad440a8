// Internal: the seam between the replaced operator new (alloc_accounting.cpp),
// the slice scope (service_stats.cpp) and critical sections
// (critical_section.cpp). The open section of this thread lives next to the
// allocation target, in alloc_accounting.cpp, so operator new reads one
// thread-local more and calls out only when a section is open.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft {
class CriticalSection;
namespace detail {

CriticalSection* current_critical() noexcept;
void set_current_critical(CriticalSection* section) noexcept;
// operator new inside an open section (critical_section.cpp).
void on_critical_allocation(CriticalSection& section, std::size_t size, const void* site) noexcept;
// Each slice (SliceScope) has a serial, unique on its thread; a section
// remembers the serial of the slice it was opened in.
std::uint64_t current_slice_serial() noexcept;
// A slice begins: a new serial; returns the enclosing slice's.
std::uint64_t begin_slice_serial() noexcept;
// A slice ends: the sections opened in it and still open (a co_await
// inside) stop counting and are popped; the enclosing serial comes back.
// A section opened in an outer slice is never touched here, even when a
// nested slice closed it (an inline resumption).
void end_slice_serial(std::uint64_t enclosing) noexcept;
// The popping part of it, only called with a section open (critical_section.cpp).
void pop_sections_of_slice(std::uint64_t ending) noexcept;

}  // namespace detail
}  // namespace weft

// Internal: the replaced global operator new charges allocations to the
// service whose slice is running on this thread (if any).
#pragma once

namespace weft {
struct ServiceStats;
namespace detail {
void set_allocation_target(ServiceStats* stats) noexcept;
// Referenced by the runtime so the linker keeps the replacement operators
// (they live in a static library).
void link_allocation_accounting() noexcept;
}  // namespace detail
}  // namespace weft

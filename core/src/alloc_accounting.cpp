// Replaces the global allocation functions to count, per service, the
// allocations made while its handlers run. Costs one thread-local read per
// allocation; memory itself still comes from malloc/aligned_alloc, and the
// matching deallocation functions free it. Only the loop thread ever sets a
// target, so blocking-pool threads are never charged to a service.
#include "alloc_accounting.hpp"
#include "critical_hooks.hpp"
#include "weft/core/critical_section.hpp"

#include <cstdint>
#include <cstdlib>
#include <new>

#include "weft/core/service_stats.hpp"

namespace weft::detail {
namespace {
thread_local ServiceStats* t_target = nullptr;
thread_local CriticalSection* t_critical = nullptr;
thread_local std::uint64_t t_slice_serial = 0;
thread_local std::uint64_t t_next_slice_serial = 0;
thread_local std::uint64_t t_allocations = 0;

inline void count(std::size_t size, const void* site) noexcept {
  ++t_allocations;
  if (ServiceStats* s = t_target) {
    ++s->allocations;
    s->allocated_bytes += size;
  }
  if (CriticalSection* c = t_critical) on_critical_allocation(*c, size, site);
}

void* allocate(std::size_t size, const void* site) {
  count(size, site);
  if (size == 0) size = 1;
  for (;;) {
    if (void* p = std::malloc(size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* allocate_aligned(std::size_t size, std::align_val_t align, const void* site) {
  count(size, site);
  const auto a = static_cast<std::size_t>(align);
  const std::size_t rounded = (size + a - 1) / a * a;
  for (;;) {
    if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}
}  // namespace

void set_allocation_target(ServiceStats* stats) noexcept { t_target = stats; }
CriticalSection* current_critical() noexcept { return t_critical; }
void set_current_critical(CriticalSection* section) noexcept { t_critical = section; }
std::uint64_t current_slice_serial() noexcept { return t_slice_serial; }
std::uint64_t begin_slice_serial() noexcept {
  const std::uint64_t enclosing = t_slice_serial;
  t_slice_serial = ++t_next_slice_serial;
  return enclosing;
}
void end_slice_serial(std::uint64_t enclosing) noexcept {
  if (t_critical != nullptr) pop_sections_of_slice(t_slice_serial);
  t_slice_serial = enclosing;
}
void link_allocation_accounting() noexcept {}

}  // namespace weft::detail

std::uint64_t weft::thread_allocations() noexcept { return weft::detail::t_allocations; }

using weft::detail::allocate;
using weft::detail::allocate_aligned;

// The caller's address is the allocation's call site (critical sections).
#define WEFT_CALLER __builtin_return_address(0)
void* operator new(std::size_t n) { return allocate(n, WEFT_CALLER); }
void* operator new[](std::size_t n) { return allocate(n, WEFT_CALLER); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return allocate(n, WEFT_CALLER); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return allocate(n, WEFT_CALLER); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a) { return allocate_aligned(n, a, WEFT_CALLER); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_aligned(n, a, WEFT_CALLER); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try { return allocate_aligned(n, a, WEFT_CALLER); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try { return allocate_aligned(n, a, WEFT_CALLER); } catch (...) { return nullptr; }
}
#undef WEFT_CALLER

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

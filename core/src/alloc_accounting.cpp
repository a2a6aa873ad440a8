// Replaces the global allocation functions to count, per service, the
// allocations made while its handlers run, and to keep what each service
// HOLDS (allocated minus freed, whoever frees) under its memory_limit.
// Only the loop thread ever sets a target, so blocking-pool threads are
// never charged to a service. Nothing here allocates.
//
// Who gets a free: a free must be credited to the service that allocated
// the block, also when another service, the runtime or a pool thread frees
// it (a buffer handed over the bus). So a block allocated while a service
// with an account runs carries a 16-byte header just before the pointer:
//   [ MemoryAccount* | 0x5746 << 48 | requested size ]
// and every other block is plain malloc memory, as before. Why not the
// alternatives (README "Memory budgets" has the figures):
//   - a header on every allocation: the runtime's own and the pool's
//     allocations would pay 16 bytes each for nothing (every service does
//     have an account, limit or not, so `mem` and the leak rule see all:
//     +72 B of heap per idle service, 4.5 live blocks, in `weft-bench
//     services`; +20-50 ns per tracked new + delete pair);
//   - malloc_usable_size credited to whoever frees: cheap, but a buffer
//     allocated by A and freed by B lowers B and leaves A "leaking" forever;
//     the limit would punish the wrong service.
// How a free tells the two apart without a second operator-new path: the
// word just before a glibc malloc pointer is the chunk's size field (always
// mapped: it is part of the chunk, also for the first chunk of an mmap'd
// one), whose top 16 bits are zero on a 64-bit glibc (sizes are below
// 2^48); ours has 0x5746 there, and then the account word must point
// exactly at an entry of the account table (a range and stride check).
// Both must hold. Where the word before a block may not be glibc's, every
// block gets a header (the account word null when unowned) and the check is
// never made on foreign memory: under ASan or TSan, on another libc or a
// 32-bit one (a 4-byte size field), and when LD_PRELOAD is set at the first
// allocation (jemalloc or tcmalloc, where that word may be the previous
// block's data) or malloc is not glibc's all the same (malloc_is_glibcs). Under valgrind (LD_PRELOAD names its vgpreload libraries)
// accounting is off: its malloc puts a redzone before each block, which
// memcheck reports every read of, and it replaces libstdc++'s own operator
// delete, which then frees headered blocks at the wrong address; so no
// block gets a header and no service an account (the supervisor logs that
// a memory_limit is not enforced). That choice is made once, before main,
// and holds for the process. A block from malloc freed by operator delete
// (undefined, but it worked before) still works in the glibc mode, not in
// the every-block one.
//
// Refusal: an allocation that would take a service past its limit throws
// std::bad_alloc and allocates nothing, except while an exception is
// already unwinding (std::uncaught_exceptions() > 0): a destructor that
// allocates during the unwinding of the refusal (or of anything else) is
// let through and charged, since a throw there would std::terminate the
// whole box. Code that allocates in other noexcept functions still does.
//
// Cost: one thread-local read per allocation (as before), plus for a
// tracked service a relaxed load, a compare and a relaxed fetch_add; per
// free, one load of the word before the block (the same cache line the
// block's own malloc header is in) and, for a headered block, a relaxed
// fetch_sub. Aligned and sized forms: the header sits just before the
// returned pointer; an aligned block's start is max(align, 16) before it
// (the aligned delete is given the same alignment, as the standard
// requires); sized delete ignores the size and trusts the header.
#include "alloc_accounting.hpp"
#include "critical_hooks.hpp"
#include "weft/core/critical_section.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <malloc.h>
#include <new>
#include <string>
#include <vector>

#include "weft/core/memory_account.hpp"
#include "weft/core/service_stats.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__) || UINTPTR_MAX != 0xFFFFFFFFFFFFFFFFu
#define WEFT_EVERY_BLOCK_HEADERED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_EVERY_BLOCK_HEADERED 1
#endif
#endif
#ifndef WEFT_EVERY_BLOCK_HEADERED
#define WEFT_EVERY_BLOCK_HEADERED 0
#endif

namespace weft::detail {
namespace {
thread_local ServiceStats* t_target = nullptr;
thread_local CriticalSection* t_critical = nullptr;
thread_local std::uint64_t t_slice_serial = 0;
thread_local std::uint64_t t_next_slice_serial = 0;
thread_local std::uint64_t t_allocations = 0;

constexpr bool kAlwaysEveryBlockHeadered = WEFT_EVERY_BLOCK_HEADERED != 0;

// How blocks are told apart, decided at the first allocation (static
// initialisation: one thread), read relaxed afterwards.
enum Mode : unsigned char {
  kUndecided,
  kTagged,  // glibc's size field tells plain blocks from headered ones
  kEvery,   // every block has a header
  kOff,     // under valgrind: no header, no account (see the file comment)
};
std::atomic<unsigned char> g_mode{kUndecided};

// Whether malloc is glibc's although LD_PRELOAD names no library: another
// allocator can also come linked into the binary, from /etc/ld.so.preload,
// or from an LD_PRELOAD that ld.so honoured and then removed from the
// environment (a binary with file capabilities, say CAP_SYS_NICE for the
// realtime profile). Then the word before a block is not glibc's size field
// but the previous block's data, which may look like a header. A block from
// glibc's malloc shows in glibc's own figures (mallinfo2, heap or mmap'd);
// one from another allocator does not. Once, at the first allocation.
bool malloc_is_glibcs() noexcept {
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 33)
  constexpr std::size_t kProbe = 256 * 1024;  // above the tcache and fastbin sizes: never from a cache
  const struct mallinfo2 before = ::mallinfo2();
  void* p = std::malloc(kProbe);
  if (p == nullptr) return true;  // cannot tell: trust the libc
  const struct mallinfo2 after = ::mallinfo2();
  std::free(p);
  return after.uordblks + after.hblkhd >= before.uordblks + before.hblkhd + kProbe;
#endif
#endif
  return true;
}

unsigned char decide_mode() noexcept {
  const char* preload = std::getenv("LD_PRELOAD");  // does not allocate
  unsigned char mode = kAlwaysEveryBlockHeadered ? kEvery : kTagged;
  if (preload != nullptr && *preload != '\0') mode = std::strstr(preload, "vgpreload") != nullptr ? kOff : kEvery;
  else if (mode == kTagged && !malloc_is_glibcs()) mode = kEvery;
  g_mode.store(mode, std::memory_order_relaxed);
  return mode;
}

inline unsigned char mode() noexcept {
  const unsigned char m = g_mode.load(std::memory_order_relaxed);
  return m != kUndecided ? m : decide_mode();
}
constexpr std::uint64_t kTag = 0x5746;  // "WF"
constexpr int kTagShift = 48;
constexpr std::uint64_t kSizeMask = (std::uint64_t{1} << kTagShift) - 1;
constexpr std::size_t kHeader = 16;

struct Header {
  MemoryAccount* account;
  std::uint64_t tagged_size;
};
static_assert(sizeof(Header) == kHeader);

// Constant-initialised (atomics and PODs): usable before any constructor runs.
MemoryAccount g_accounts[kMaxMemoryAccounts];

bool is_account(const MemoryAccount* a) noexcept {
  const auto p = reinterpret_cast<std::uintptr_t>(a);
  const auto base = reinterpret_cast<std::uintptr_t>(&g_accounts[0]);
  return p >= base && p < base + sizeof g_accounts && (p - base) % sizeof(MemoryAccount) == 0;
}

inline void count(std::size_t size, const void* site) noexcept {
  ++t_allocations;
  if (ServiceStats* s = t_target) {
    ++s->allocations;
    s->allocated_bytes += size;
  }
  if (CriticalSection* c = t_critical) on_critical_allocation(*c, size, site);
}

// The account to charge, or null; throws at the limit (nothing allocated).
inline MemoryAccount* admit(std::size_t size) {
  ServiceStats* s = t_target;
  MemoryAccount* a = s != nullptr ? s->memory : nullptr;
  if (a == nullptr) return nullptr;  // (the supervisor attaches none in the kOff mode)
  const std::int64_t held = a->held.load(std::memory_order_relaxed);
  if (size > kSizeMask || (a->limit > 0 && held + static_cast<std::int64_t>(size) > a->limit)) [[unlikely]] {
    if (size <= kSizeMask && std::uncaught_exceptions() > 0) return a;  // unwinding: see the file comment
    ++a->refusals;
    a->refused_bytes = static_cast<std::int64_t>(size);
    a->refused_held = held;
    throw std::bad_alloc();
  }
  return a;
}

inline void charge(MemoryAccount* a, std::size_t size) noexcept {
  if (a == nullptr) return;
  const std::int64_t now = a->held.fetch_add(static_cast<std::int64_t>(size), std::memory_order_relaxed) +
                           static_cast<std::int64_t>(size);
  if (now > a->high) a->high = now;
}

inline void* finish(void* base, std::size_t offset, MemoryAccount* a, std::size_t size) noexcept {
  void* user = static_cast<char*>(base) + offset;
  Header* h = static_cast<Header*>(user) - 1;
  h->account = a;
  h->tagged_size = (kTag << kTagShift) | size;
  charge(a, size);
  return user;
}

template <class Get>
void* obtain(Get get) {
  for (;;) {
    if (void* p = get()) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

// A request that cannot be met once the header and the alignment's padding
// are added (the sum would wrap round to a small block, which the caller
// would then overrun): refused at once, as malloc would refuse it.
constexpr std::size_t kMaxSize = static_cast<std::size_t>(-1);
inline void refuse_if_unrepresentable(std::size_t size, std::size_t padding) {
  if (padding > kMaxSize - size) [[unlikely]]
    throw std::bad_alloc();
}

void* allocate(std::size_t size, const void* site) {
  refuse_if_unrepresentable(size, kHeader);
  MemoryAccount* a = admit(size);
  count(size, site);
  if (a == nullptr && mode() != kEvery) return obtain([n = size == 0 ? 1 : size] { return std::malloc(n); });
  void* base = obtain([n = size + kHeader] { return std::malloc(n); });
  return finish(base, kHeader, a, size);
}

std::size_t aligned_offset(std::size_t align) noexcept { return align > kHeader ? align : kHeader; }

void* allocate_aligned(std::size_t size, std::align_val_t align, const void* site) {
  const auto al = static_cast<std::size_t>(align);
  refuse_if_unrepresentable(size, aligned_offset(al));             // the header
  refuse_if_unrepresentable(size + aligned_offset(al), al - 1);  // the rounding up
  MemoryAccount* a = admit(size);
  count(size, site);
  const bool headered = a != nullptr || mode() == kEvery;
  const std::size_t offset = headered ? aligned_offset(al) : 0;
  const std::size_t total = size + offset;
  const std::size_t rounded = (total + al - 1) / al * al;
  void* base = obtain([al, n = rounded == 0 ? al : rounded] { return std::aligned_alloc(al, n); });
  return headered ? finish(base, offset, a, size) : base;
}

// A block's header, or null for a plain one (see the file comment).
inline Header* header_of(void* p) noexcept {
  Header* h = static_cast<Header*>(p) - 1;
  const unsigned char m = mode();
  if (m == kEvery) return h;
  if (m == kOff) return nullptr;  // valgrind's malloc: the word before the block is its redzone
  if ((h->tagged_size >> kTagShift) != kTag) return nullptr;
  return is_account(h->account) ? h : nullptr;
}

inline void release(void* p, std::size_t offset) noexcept {
  if (p == nullptr) return;
  Header* h = header_of(p);
  if (h == nullptr) return std::free(p);
  if (MemoryAccount* a = h->account)
    a->held.fetch_sub(static_cast<std::int64_t>(h->tagged_size & kSizeMask), std::memory_order_relaxed);
  std::free(static_cast<char*>(p) - offset);
}

void release_aligned(void* p, std::align_val_t align) noexcept {
  release(p, aligned_offset(static_cast<std::size_t>(align)));
}

// The names that have an account, by index (loop thread only).
std::vector<std::string>& account_names() {
  static std::vector<std::string> names;
  return names;
}
}  // namespace

bool memory_accounting_enabled() noexcept { return mode() != kOff; }

MemoryAccount* memory_account_for(std::string_view name) {
  // The table is the runtime's, not the service launching this one (a
  // dependent may be launched from another service's ready()).
  ServiceStats* const target = t_target;
  t_target = nullptr;
  struct Restore {
    ServiceStats* target;
    ~Restore() { t_target = target; }
  } restore{target};
  std::vector<std::string>& names = account_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return &g_accounts[i];
  if (names.size() == kMaxMemoryAccounts) return nullptr;
  names.emplace_back(name);
  return &g_accounts[names.size() - 1];
}

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
using weft::detail::kHeader;
using weft::detail::release;
using weft::detail::release_aligned;

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

void operator delete(void* p) noexcept { release(p, kHeader); }
void operator delete[](void* p) noexcept { release(p, kHeader); }
void operator delete(void* p, std::size_t) noexcept { release(p, kHeader); }
void operator delete[](void* p, std::size_t) noexcept { release(p, kHeader); }
void operator delete(void* p, std::align_val_t a) noexcept { release_aligned(p, a); }
void operator delete[](void* p, std::align_val_t a) noexcept { release_aligned(p, a); }
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { release_aligned(p, a); }
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept { release_aligned(p, a); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p, kHeader); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p, kHeader); }
void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept { release_aligned(p, a); }
void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept { release_aligned(p, a); }

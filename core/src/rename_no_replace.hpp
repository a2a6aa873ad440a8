// rename(2) that never replaces: the one step that makes atomic_create and
// ClaimDir safe against a second writer or claimer. renameat2's
// RENAME_NOREPLACE where the filesystem has it; else link(2) + unlink(2),
// which fail just as atomically when the name exists (link never
// replaces). Blocking: off the loop thread.
#pragma once

namespace weft::detail {

// 0, or the errno: EEXIST when `to` exists (nothing moved), ENOENT when
// `from` is gone (someone else moved it first).
int rename_no_replace(const char* from, const char* to) noexcept;

}  // namespace weft::detail

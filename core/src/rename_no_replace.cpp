// rename_no_replace: see rename_no_replace.hpp.
#include "rename_no_replace.hpp"

#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

namespace weft::detail {

int rename_no_replace(const char* from, const char* to) noexcept {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  const int err = errno;
  // EINVAL: this filesystem has no RENAME_NOREPLACE (vfat, older NFS).
  if (err != EINVAL && err != ENOSYS) return err;
  if (::link(from, to) != 0) return errno;
  // Both names hold the file now; dropping the old one finishes the move.
  // If that fails the file is visible twice, which a reader of `to` never
  // notices; the caller still owns `from` to clean up.
  if (::unlink(from) != 0) return errno == ENOENT ? 0 : errno;
  return 0;
}

}  // namespace weft::detail

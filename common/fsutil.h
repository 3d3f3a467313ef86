/* Small file helpers shared by records, metrics and config rewriting. */
#ifndef MEMHOOK_FSUTIL_H
#define MEMHOOK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Write name in dirfd atomically: temp file in the same directory, fsync,
 * rename, fsync of the directory.  Readers see the old or the new file. */
int write_file_atomic (int dirfd, const char *name, const void *buf, size_t len, mode_t mode, mh_error_t *err);
/* The same without the two fsyncs, for runtime state (records, watch.json,
 * metrics) that lives in /run like runc's own state.json: a process killed
 * mid-write still leaves the old or the new file; only a host crash can
 * lose the last update, and a host crash ends the containers too. */
int write_file_replace (int dirfd, const char *name, const void *buf, size_t len, mode_t mode, mh_error_t *err);
/* Read a whole (small) file relative to dirfd, O_NOFOLLOW; at most max bytes
 * (more is an error).  *out is NUL-terminated. */
int read_file_at (int dirfd, const char *name, size_t max, char **out, size_t *len, mh_error_t *err);
/* Read all of fd up to max bytes. */
int read_all_fd (int fd, size_t max, char **out, size_t *len, mh_error_t *err);
/* Write the whole buffer, retrying on EINTR/short writes. */
int write_all (int fd, const void *buf, size_t len);

#endif

/* cgroup files, always relative to the cgroup's directory fd (openat). */
#ifndef MEMHOOK_CG_FILE_H
#define MEMHOOK_CG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* v1's "unlimited" as the kernel shows it (PAGE_COUNTER_MAX * page size). */
#define CG_V1_UNLIMITED_MIN ((int64_t) 0x7ffffffffffff000LL)

/* Reads a one-value file; "max" (v2) and v1's huge unlimited value both
 * give -1.  Errors name the file. */
int cg_read_i64 (int dirfd, const char *file, int64_t *out, mh_error_t *err);
/* Reads a whole small file (memory.stat, memory.events, …). */
int cg_read_text (int dirfd, const char *file, char **out, mh_error_t *err);
/* Writes value with one write(); the errno of a refusal (EBUSY, EINVAL) is
 * kept in err->errnum.  ENOENT = the file does not exist on this kernel. */
int cg_write (int dirfd, const char *file, const char *value, mh_error_t *err);
/* "key value" lines (memory.stat, memory.events, memory.oom_control):
 * found = false when the key is not there. */
int cg_keyed_get (const char *text, const char *key, bool *found, int64_t *out);
bool cg_file_exists (int dirfd, const char *file);

#endif

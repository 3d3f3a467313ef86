/* The state dir: root's, mode 0700, nothing in it followed through a symlink. */
#ifndef MEMHOOK_STATEDIR_H
#define MEMHOOK_STATEDIR_H

#include <stdbool.h>

#include "error.h"

/* Opens (creating with 0700 when create is set) and checks owner and mode. */
int statedir_open (const char *path, bool create, int *dirfd, mh_error_t *err);
/* <state-dir>/<id>/ for a checked id (oci_id_check first). */
int statedir_open_container (int state_dirfd, const char *id, bool create, int *dirfd, mh_error_t *err);

#endif

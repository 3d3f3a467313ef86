/* The hook gives up what it no longer needs once the privileged part is
 * done (cgroup written and verified, watcher started): every capability,
 * for good (no_new_privs: an exec cannot give them back), and a seccomp
 * allow-list of what writing the record, the events and the error line
 * takes. */
#ifndef MEMHOOK_CONFINE_H
#define MEMHOOK_CONFINE_H

#include "error.h"

/* Keep CAP_DAC_OVERRIDE: the state dir or files memhook still has to
 * write are not owned by its euid. */
#define CONFINE_KEEP_DAC_OVERRIDE (1u << 0)

/* Errors name the step (capabilities, seccomp); the process may be
 * partly confined after a failure. */
int confine_hook (unsigned flags, mh_error_t *err);
/* Whether this build has the seccomp part (meson -Dseccomp). */
int confine_has_seccomp (void);

#endif

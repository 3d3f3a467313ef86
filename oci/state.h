/* The OCI state JSON a runtime gives a hook on stdin.  Tolerant of what
 * real runtimes send: crun says "created"/"starting" where runc says
 * "creating", adds "root", and writes ociVersion "1.0". */
#ifndef MEMHOOK_OCI_STATE_H
#define MEMHOOK_OCI_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"

#define OCI_ID_MAX 1024

struct oci_state
{
  char *oci_version;
  char *id;     /* validated by oci_id_check */
  char *status; /* as sent; not interpreted beyond presence */
  bool has_pid;
  pid_t pid;    /* > 0 when has_pid */
  char *bundle; /* absolute path */
  struct oci_kv_list annotations;
};

int oci_state_parse (const char *buf, size_t len, struct oci_state *out, mh_error_t *err);
int oci_state_read_fd (int fd, struct oci_state *out, mh_error_t *err);
void oci_state_free (struct oci_state *s);

/* A container id becomes a path: no '/', no "..", no NUL, no leading '.',
 * not empty, at most OCI_ID_MAX bytes, printable. */
int oci_id_check (const char *id, mh_error_t *err);

#endif

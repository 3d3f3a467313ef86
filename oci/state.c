/* The state a runtime hands a hook.  Only what memhook relies on is
 * strict (id, bundle, pid); the rest is taken as sent, because runc and
 * crun disagree on status names and crun adds keys. */
#include "state.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

#define ID_SHOWN_MAX 64
#define STR_(x) #x
#define STR(x) STR_ (x)
#define ID_FIX "use an id without '/', '..' or control characters"

int
oci_id_check (const char *id, mh_error_t *err)
{
  cleanup_free char *shown = NULL;
  const char *why = NULL, *fix = ID_FIX;
  size_t len, i;

  if (id == NULL || id[0] == '\0')
    return mh_error_make (err, 0, "container id \"\": is empty; give the container a non-empty id");
  len = strlen (id);
  if (len > OCI_ID_MAX)
    {
      why = "is longer than " STR (OCI_ID_MAX) " bytes";
      fix = "use a shorter id";
    }
  for (i = 0; why == NULL && i < len; i++)
    if ((unsigned char) id[i] < 0x20 || id[i] == 0x7f)
      why = "contains a control character";
  if (why == NULL && strchr (id, '/') != NULL)
    why = "contains '/'";
  if (why == NULL && (strcmp (id, ".") == 0 || strcmp (id, "..") == 0))
    why = "is a dot path";
  /* A leading dot would make the record directory hidden, and covers "..". */
  if (why == NULL && id[0] == '.')
    {
      why = "starts with '.'";
      fix = "use an id that does not start with '.'";
    }
  if (why == NULL)
    return 0;
  shown = json_printable (id, len, ID_SHOWN_MAX);
  return mh_error_make (err, 0, "container id \"%s\": %s; %s", shown ? shown : "?", why, fix);
}

static int
dup_string (const struct json *root, const char *key, bool required, char **out, mh_error_t *err)
{
  const char *s;

  *out = NULL;
  if (json_get_string (root, key, key, &s, err) < 0)
    return -1;
  if (s == NULL)
    {
      if (required)
        return mh_error_make (err, 0, "%s: missing; the runtime must send it", key);
      return 0;
    }
  *out = strdup (s);
  if (*out == NULL)
    return mh_error_make (err, ENOMEM, "%s", key);
  return 0;
}

static int
read_pid (const struct json *root, struct oci_state *s, mh_error_t *err)
{
  bool present;
  int64_t pid;

  if (json_get_int64 (root, "pid", "pid", &present, &pid, err) < 0)
    return -1;
  /* Runtimes send 0 when there is no process (yet, or any more). */
  if (!present || pid == 0)
    return 0;
  if (pid < 0 || pid > INT_MAX)
    return mh_error_make (err, 0, "pid: %" PRId64 " is not a valid process id", pid);
  s->has_pid = true;
  s->pid = (pid_t) pid;
  return 0;
}

static int
state_from_json (const struct json *root, struct oci_state *s, mh_error_t *err)
{
  const struct json *annotations;

  if (root->type != JSON_OBJECT)
    return json_type_error (root, "top level", "an object", err);
  if (dup_string (root, "ociVersion", false, &s->oci_version, err) < 0
      || dup_string (root, "id", true, &s->id, err) < 0 || oci_id_check (s->id, err) < 0
      || dup_string (root, "status", false, &s->status, err) < 0 || read_pid (root, s, err) < 0
      || dup_string (root, "bundle", true, &s->bundle, err) < 0)
    return -1;
  if (s->bundle[0] != '/')
    {
      cleanup_free char *shown = json_printable (s->bundle, strlen (s->bundle), 64);
      return mh_error_make (err, 0, "bundle: \"%s\" is not an absolute path", shown ? shown : "?");
    }
  if (json_get_object (root, "annotations", "annotations", &annotations, err) < 0
      || oci_kv_list_from_json (annotations, "annotations", &s->annotations, err) < 0)
    return -1;
  return 0;
}

static int
state_from_tree (const struct json *root, const char *what, struct oci_state *out, mh_error_t *err)
{
  struct oci_state s = { 0 };

  if (state_from_json (root, &s, err) < 0)
    {
      oci_state_free (&s);
      return mh_error_wrap (err, "%s", what);
    }
  *out = s;
  return 0;
}

int
oci_state_parse (const char *buf, size_t len, struct oci_state *out, mh_error_t *err)
{
  cleanup_json struct json *root = NULL;

  memset (out, 0, sizeof (*out));
  if (json_parse (buf, len, "state", &root, err) < 0)
    return -1;
  return state_from_tree (root, "state", out, err);
}

int
oci_state_read_fd (int fd, struct oci_state *out, mh_error_t *err)
{
  cleanup_json struct json *root = NULL;
  const char *what = fd == STDIN_FILENO ? "state on stdin" : "state";

  memset (out, 0, sizeof (*out));
  if (json_parse_fd (fd, what, &root, err) < 0)
    return -1;
  return state_from_tree (root, what, out, err);
}

void
oci_state_free (struct oci_state *s)
{
  if (s == NULL)
    return;
  free (s->oci_version);
  free (s->id);
  free (s->status);
  free (s->bundle);
  oci_kv_list_free (&s->annotations);
  memset (s, 0, sizeof (*s));
}

#include "events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

const char *
events_time_now (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  char base[32];

  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (base, sizeof (base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
  return buf;
}

/* What the engines annotate: CRI-O copies the kubelet's labels
 * (io.kubernetes.container.name, io.kubernetes.pod.name/namespace);
 * containerd's CRI plugin writes io.kubernetes.cri.container-name and
 * sandbox-name/-namespace.  Podman annotates no name of its own (its
 * io.podman.annotations.* keys are flags), so plain podman containers
 * are known by id only. */
static const char *
first_of (const struct oci_kv_list *a, const char *const *keys)
{
  if (a == NULL)
    return NULL;
  for (; *keys; keys++)
    {
      const char *v = oci_kv_get (a, *keys);
      if (v != NULL && *v != '\0')
        return v;
    }
  return NULL;
}

const char *
events_annotation_name (const struct oci_kv_list *annotations)
{
  static const char *const keys[] = { "io.kubernetes.container.name", "io.kubernetes.cri.container-name", NULL };
  return first_of (annotations, keys);
}

const char *
events_annotation_pod (const struct oci_kv_list *annotations)
{
  static const char *const keys[] = { "io.kubernetes.pod.name", "io.kubernetes.cri.sandbox-name", NULL };
  return first_of (annotations, keys);
}

const char *
events_annotation_namespace (const struct oci_kv_list *annotations)
{
  static const char *const keys[] = { "io.kubernetes.pod.namespace", "io.kubernetes.cri.sandbox-namespace", NULL };
  return first_of (annotations, keys);
}

static int
set (struct json *o, const char *key, struct json *v)
{
  cleanup_error mh_error_t e = NULL;
  return json_object_set (o, key, v, &e);
}

struct json *
event_new (const char *event, const char *id, const struct oci_kv_list *annotations)
{
  struct json *o = json_new_object ();
  const char *name = events_annotation_name (annotations);
  const char *pod = events_annotation_pod (annotations);
  const char *ns = events_annotation_namespace (annotations);
  char now[40];
  int rc = 0;

  if (o == NULL)
    return NULL;
  rc |= set (o, "v", json_new_int (EVENTS_SCHEMA_VERSION));
  rc |= set (o, "time", json_new_string (events_time_now (now, sizeof (now))));
  rc |= set (o, "id", json_new_string (id ? id : ""));
  rc |= set (o, "event", json_new_string (event));
  if (name)
    rc |= set (o, "name", json_new_string (name));
  if (pod)
    rc |= set (o, "pod", json_new_string (pod));
  if (ns)
    rc |= set (o, "namespace", json_new_string (ns));
  if (rc < 0)
    {
      json_free (o);
      return NULL;
    }
  return o;
}

/* Open events.jsonl and lock it; make sure the locked file is still the
 * one named events.jsonl (another writer may have rotated it meanwhile). */
static int
open_locked (int dirfd, int *out, mh_error_t *err)
{
  for (int attempt = 0; attempt < 100; attempt++)
    {
      cleanup_close int fd = openat (dirfd, EVENTS_FILE, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      struct stat a, b;

      if (fd < 0)
        return mh_error_make (err, errno, "open %s", EVENTS_FILE);
      while (flock (fd, LOCK_EX) < 0)
        if (errno != EINTR)
          return mh_error_make (err, errno, "lock %s", EVENTS_FILE);
      if (fstat (fd, &a) < 0)
        return mh_error_make (err, errno, "stat %s", EVENTS_FILE);
      if (fstatat (dirfd, EVENTS_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        {
          if (a.st_size < (off_t) EVENTS_ROTATE_BYTES)
            {
              *out = steal_fd (&fd);
              return 0;
            }
          /* Rotate under the lock; writers waiting on the old file see the
           * name moved and reopen. */
          if (renameat (dirfd, EVENTS_FILE, dirfd, EVENTS_ROTATED_FILE) < 0)
            return mh_error_make (err, errno, "rotate %s", EVENTS_FILE);
        }
    }
  return mh_error_make (err, EAGAIN, "open %s: it keeps being replaced", EVENTS_FILE);
}

int
events_append (int state_dirfd, const struct json *event, mh_error_t *err)
{
  cleanup_free char *line = NULL;
  cleanup_close int fd = -1;
  size_t len = 0;
  ssize_t n;

  if (json_serialize_compact (event, &line, &len, err) < 0)
    return -1;
  char *withnl = realloc (line, len + 2);
  if (withnl == NULL)
    return mh_error_make (err, ENOMEM, "event");
  line = withnl;
  line[len++] = '\n';
  line[len] = '\0';
  if (open_locked (state_dirfd, &fd, err) < 0)
    return -1;
  /* One write() on O_APPEND under the lock: the line lands whole. */
  do
    n = write (fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return mh_error_make (err, errno, "append to %s", EVENTS_FILE);
  if ((size_t) n != len)
    {
      /* Disk full part-way: cut the partial line so the log stays one object a line. */
      struct stat st;
      if (fstat (fd, &st) == 0)
        (void) ftruncate (fd, st.st_size - n);
      return mh_error_make (err, ENOSPC, "append to %s", EVENTS_FILE);
    }
  return 0;
}

int
events_warning (int state_dirfd, const char *id, const struct oci_kv_list *annotations, const char *field_key,
                const char *field, const char *message, mh_error_t *err)
{
  cleanup_json struct json *e = event_new ("warning", id, annotations);

  if (e == NULL)
    return mh_error_make (err, ENOMEM, "warning event");
  if (field_key && field && set (e, field_key, json_new_string (field)) < 0)
    return mh_error_make (err, ENOMEM, "warning event");
  if (set (e, "message", json_new_string (message ? message : "")) < 0)
    return mh_error_make (err, ENOMEM, "warning event");
  return events_append (state_dirfd, e, err);
}

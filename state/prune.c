#include "prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "record.h"
#include "state.h"
#include "watch.h"

static int
by_id (const void *a, const void *b)
{
  return strcmp (((const struct record_entry *) a)->id, ((const struct record_entry *) b)->id);
}

void
records_list_free (struct record_entry *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (list[i].id);
  free (list);
}

int
records_list (int state_dirfd, struct record_entry **out, size_t *n, mh_error_t *err)
{
  int fd = openat (state_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  struct record_entry *list = NULL;
  size_t len = 0, cap = 0;

  if (fd < 0)
    return mh_error_make (err, errno, "open the state dir");
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return mh_error_make (err, errno, "read the state dir");
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      cleanup_error mh_error_t e = NULL;

      if (de->d_name[0] == '.' || oci_id_check (de->d_name, &e) < 0)
        continue;
      if (fstatat (state_dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR (st.st_mode))
        continue;
      if (len == cap)
        {
          size_t ncap = cap ? cap * 2 : 64;
          struct record_entry *nl = realloc (list, ncap * sizeof (*list));
          if (nl == NULL)
            goto oom;
          list = nl;
          cap = ncap;
        }
      list[len].id = strdup (de->d_name);
      if (list[len].id == NULL)
        goto oom;
      /* A dir without a record yet (a create in progress) ages from its own time. */
      list[len].mtime = st.st_mtim;
      int cfd = openat (state_dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (cfd >= 0)
        {
          if (fstatat (cfd, RECORD_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0)
            list[len].mtime = st.st_mtim;
          close (cfd);
        }
      len++;
    }
  closedir (d);
  qsort (list, len, sizeof (*list), by_id);
  *out = list;
  *n = len;
  return 0;
oom:
  closedir (d);
  records_list_free (list, len);
  return mh_error_make (err, ENOMEM, "list the state dir");
}

/* Ended: the record has a verdict, or there is no record at all; and no
 * watcher of it still runs. */
static bool
ended (int state_dirfd, const char *id)
{
  cleanup_close int cfd = openat (state_dirfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_json struct json *rec = NULL;
  cleanup_error mh_error_t e = NULL;
  struct watch_report rep;
  bool found = false;

  if (cfd < 0)
    return false;
  if (record_load (cfd, &rec, &e) < 0)
    return false;
  if (rec != NULL)
    {
      const struct json *v = json_get (rec, "verdict");
      if (v == NULL || v->type != JSON_STRING)
        return false;
    }
  if (watch_report_load (cfd, &rep, &found, &e) == 0 && found && !rep.ended_cleanly
      && watch_process_alive (rep.watcher_pid, rep.watcher_start))
    return false;
  return true;
}

/* Our files only (no subdirectories, nothing followed), then the dir. */
static int
remove_dir (int state_dirfd, const char *id)
{
  int cfd = openat (state_dirfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d;
  struct dirent *de;

  if (cfd < 0)
    return -1;
  d = fdopendir (cfd);
  if (d == NULL)
    {
      close (cfd);
      return -1;
    }
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      unlinkat (dirfd (d), de->d_name, 0);
    }
  closedir (d);
  return unlinkat (state_dirfd, id, AT_REMOVEDIR);
}

static int
by_age (const void *a, const void *b)
{
  const struct timespec *x = &((const struct record_entry *) a)->mtime;
  const struct timespec *y = &((const struct record_entry *) b)->mtime;

  if (x->tv_sec != y->tv_sec)
    return x->tv_sec < y->tv_sec ? -1 : 1;
  return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

int
records_prune (int state_dirfd, const char *keep_id, size_t max_records, int64_t max_age_s, size_t *removed,
               mh_error_t *err)
{
  struct record_entry *list = NULL;
  size_t n = 0, left;
  struct timespec now;

  *removed = 0;
  if (records_list (state_dirfd, &list, &n, err) < 0)
    return -1;
  clock_gettime (CLOCK_REALTIME, &now);
  /* Oldest first: age bound, then count bound, in one pass. */
  qsort (list, n, sizeof (*list), by_age);
  left = n;
  for (size_t i = 0; i < n; i++)
    {
      bool too_old = now.tv_sec - list[i].mtime.tv_sec > max_age_s;
      bool too_many = left > max_records;

      if (!too_old && !too_many)
        break; /* everything after is newer */
      if (keep_id != NULL && strcmp (list[i].id, keep_id) == 0)
        continue;
      if (!ended (state_dirfd, list[i].id))
        continue;
      if (remove_dir (state_dirfd, list[i].id) == 0)
        {
          (*removed)++;
          left--;
        }
    }
  records_list_free (list, n);
  return 0;
}

bool
records_prune_due (int state_dirfd, int64_t interval_s)
{
  struct stat st;
  struct timespec now;
  int fd;

  clock_gettime (CLOCK_REALTIME, &now);
  if (fstatat (state_dirfd, PRUNE_STAMP_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG (st.st_mode)
      && now.tv_sec - st.st_mtim.tv_sec < interval_s && st.st_mtim.tv_sec <= now.tv_sec)
    return false;
  /* A stamp that cannot be written only means pruning every time. */
  fd = openat (state_dirfd, PRUNE_STAMP_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    {
      futimens (fd, NULL);
      close (fd);
    }
  return true;
}

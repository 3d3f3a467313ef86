#include "kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

/* Unsigned decimal at *p (advanced); false when there is none or it overflows. */
static bool
scan_u64 (const char **p, const char *end, uint64_t *out)
{
  uint64_t v = 0;
  const char *s = *p;

  if (s >= end || *s < '0' || *s > '9')
    return false;
  for (; s < end && *s >= '0' && *s <= '9'; s++)
    {
      if (v > (UINT64_MAX - 9) / 10)
        return false;
      v = v * 10 + (uint64_t) (*s - '0');
    }
  *p = s;
  *out = v;
  return true;
}

static bool
scan_pid (const char **p, const char *end, pid_t *out)
{
  uint64_t v;

  if (!scan_u64 (p, end, &v) || v == 0 || v > 0x3fffffff)
    return false;
  *out = (pid_t) v;
  return true;
}

int
kmsg_record_parse (const char *buf, size_t len, struct kmsg_record *out)
{
  const char *p = buf, *end = buf + len;
  const char *semi = memchr (buf, ';', len);
  uint64_t prio;

  if (semi == NULL)
    return -1;
  if (!scan_u64 (&p, semi, &prio) || p >= semi || *p++ != ',')
    return -1;
  if (!scan_u64 (&p, semi, &out->seq) || p >= semi || *p++ != ',')
    return -1;
  if (!scan_u64 (&p, semi, &out->ts_us) || p > semi)
    return -1;
  /* flags and future fields follow as ",…" up to ';' */
  if (p != semi && *p != ',')
    return -1;
  out->level = (int) (prio & 7);
  out->text = semi + 1;
  const char *nl = memchr (out->text, '\n', (size_t) (end - out->text));
  out->text_len = (size_t) ((nl ? nl : end) - out->text);
  return 0;
}

/* Last occurrence of needle in [s, end). */
static const char *
find_last (const char *s, const char *end, const char *needle)
{
  size_t n = strlen (needle);
  const char *found = NULL;

  for (const char *p = s; p + n <= end; p++)
    {
      p = memmem (p, (size_t) (end - p), needle, n);
      if (p == NULL)
        break;
      found = p;
    }
  return found;
}

/* The fixed tail "…,task_memcg=X,task=NAME,pid=N,uid=U" is parsed from the
 * right: pid and uid are digits, NAME is at most a comm, and X (a path that
 * may hold commas) is what is left. */
bool
kmsg_parse_oom_line (const char *text, size_t len, struct kmsg_oom_line *out)
{
  static const char prefix[] = "oom-kill:";
  const char *end = text + len;
  const char *pid_at, *task_at, *memcg_at, *p;

  if (len < sizeof (prefix) - 1 || memcmp (text, prefix, sizeof (prefix) - 1) != 0)
    return false;
  pid_at = find_last (text, end, ",pid=");
  if (pid_at == NULL)
    return false;
  p = pid_at + 5;
  if (!scan_pid (&p, end, &out->pid) || (p < end && *p != ','))
    return false;
  task_at = find_last (text, pid_at, ",task=");
  if (task_at == NULL)
    return false;
  memcg_at = find_last (text, task_at, ",task_memcg=");
  if (memcg_at == NULL)
    return false;
  out->memcg = memcg_at + 12;
  out->memcg_len = (size_t) (task_at - out->memcg);
  out->task = task_at + 6;
  out->task_len = (size_t) (pid_at - out->task);
  return out->memcg_len > 0 && out->memcg[0] == '/';
}

/* "…kB" after key, in bytes; -1 when the key is absent or malformed. */
static int64_t
kb_field (const char *s, const char *end, const char *key)
{
  const char *p = memmem (s, (size_t) (end - s), key, strlen (key));
  uint64_t kb;

  if (p == NULL)
    return -1;
  p += strlen (key);
  if (!scan_u64 (&p, end, &kb) || kb > (uint64_t) INT64_MAX / 1024)
    return -1;
  if (end - p < 2 || memcmp (p, "kB", 2) != 0)
    return -1;
  return (int64_t) kb * 1024;
}

bool
kmsg_parse_killed_line (const char *text, size_t len, struct kmsg_killed_line *out)
{
  static const char marker[] = "Killed process ";
  const char *end = text + len;
  const char *p = memmem (text, len, marker, sizeof (marker) - 1);
  const char *close;

  if (p == NULL)
    return false;
  p += sizeof (marker) - 1;
  if (!scan_pid (&p, end, &out->pid) || end - p < 2 || p[0] != ' ' || p[1] != '(')
    return false;
  p += 2;
  /* The comm may hold ')' or spaces; the fields after it never hold ") total-vm:". */
  close = find_last (p, end, ") total-vm:");
  if (close == NULL)
    return false;
  out->comm = p;
  out->comm_len = (size_t) (close - p);
  out->anon_rss = kb_field (close, end, " anon-rss:");
  out->file_rss = kb_field (close, end, " file-rss:");
  out->shmem_rss = kb_field (close, end, " shmem-rss:");
  return true;
}

bool
kmsg_memcg_under (const char *memcg, size_t memcg_len, const char *path)
{
  size_t n = strlen (path);

  /* The root cgroup contains every other: "/" matches everything. */
  while (n > 1 && path[n - 1] == '/')
    n--;
  if (n == 1 && path[0] == '/')
    return memcg_len > 0 && memcg[0] == '/';
  if (memcg_len < n || memcmp (memcg, path, n) != 0)
    return false;
  return memcg_len == n || memcg[n] == '/';
}

static void
victim_fill (struct kmsg_victim *v, const struct kmsg_killed_line *k, const struct kmsg_record *r)
{
  size_t n = k->comm_len < sizeof (v->comm) - 1 ? k->comm_len : sizeof (v->comm) - 1;

  v->pid = k->pid;
  memcpy (v->comm, k->comm, n);
  v->comm[n] = '\0';
  v->anon_rss = k->anon_rss;
  v->ts_us = r->ts_us;
  v->by_memcg = false;
}

enum kmsg_feed_result
kmsg_match_feed (struct kmsg_match *m, const struct kmsg_record *r, struct kmsg_victim *victim)
{
  struct kmsg_oom_line o;
  struct kmsg_killed_line k;

  if (kmsg_parse_oom_line (r->text, r->text_len, &o))
    {
      /* The kernel holds oom_lock from the summary to the kill line, so the
       * next kill line is this summary's; remember whose it was. */
      m->pending_pid = kmsg_memcg_under (o.memcg, o.memcg_len, m->memcg) ? o.pid : -o.pid;
      return KMSG_NOTHING;
    }
  if (!kmsg_parse_killed_line (r->text, r->text_len, &k))
    return KMSG_NOTHING;
  victim_fill (victim, &k, r);
  if (m->pending_pid != 0 && (m->pending_pid == k.pid || m->pending_pid == -k.pid))
    {
      bool ours = m->pending_pid > 0;
      m->pending_pid = 0;
      victim->by_memcg = ours;
      if (ours)
        return KMSG_OURS;
      return k.pid == m->main_pid ? KMSG_OURS : KMSG_OTHER;
    }
  m->pending_pid = 0;
  if (m->main_pid > 0 && k.pid == m->main_pid)
    return KMSG_OURS;
  return KMSG_UNATTRIBUTED;
}

int
kmsg_open_at_end (int *fd, mh_error_t *err)
{
  cleanup_close int f = open ("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

  if (f < 0)
    return mh_error_make (err, errno, "open /dev/kmsg");
  if (lseek (f, 0, SEEK_END) < 0)
    return mh_error_make (err, errno, "seek to the end of /dev/kmsg");
  *fd = steal_fd (&f);
  return 0;
}

int
kmsg_read (int fd, char *buf, size_t size, struct kmsg_record *out, bool *lost, mh_error_t *err)
{
  for (;;)
    {
      ssize_t n = read (fd, buf, size - 1);
      if (n < 0 && errno == EPIPE)
        *lost = true;
      if (n < 0 && (errno == EINTR || errno == EPIPE))
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n < 0)
        return mh_error_make (err, errno, "read /dev/kmsg");
      if (n == 0)
        return 0;
      buf[n] = '\0';
      if (kmsg_record_parse (buf, (size_t) n, out) == 0)
        return 1;
      /* Not a record (never seen): skip it rather than stop watching. */
    }
}

/* The verdict channel, read side (see answer.h for the contract). */
#include "answer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

/* "oom_kill 4194304" is 16 bytes; anything longer is not an answer. */
#define LINE_MAX_LEN 32
#define PID_MAX_LIMIT 4194304 /* the kernel's ceiling for pid_max */

struct scanner
{
  char line[LINE_MAX_LEN];
  size_t len;
  bool overflow;
  bool found;
  pid_t pid;
};

static bool
line_names (const char *line, size_t len, pid_t pid)
{
  static const char prefix[] = "oom_kill ";
  const size_t plen = sizeof (prefix) - 1;
  long v = 0;

  if (len <= plen || memcmp (line, prefix, plen) != 0)
    return false;
  /* digits only, no sign, no leading zero, within the kernel's range */
  if (line[plen] == '0')
    return false;
  for (size_t i = plen; i < len; i++)
    {
      if (line[i] < '0' || line[i] > '9')
        return false;
      v = v * 10 + (line[i] - '0');
      if (v > PID_MAX_LIMIT)
        return false;
    }
  return v == (long) pid;
}

static void
scanner_feed (struct scanner *s, const char *buf, size_t len)
{
  for (size_t i = 0; i < len && !s->found; i++)
    {
      if (buf[i] == '\n')
        {
          if (!s->overflow && line_names (s->line, s->len, s->pid))
            s->found = true;
          s->len = 0;
          s->overflow = false;
        }
      else if (s->len < LINE_MAX_LEN)
        s->line[s->len++] = buf[i];
      else
        s->overflow = true;
    }
  /* a line without its newline yet is not an answer: the writer is not done */
}

bool
answer_scan (const char *buf, size_t len, pid_t pid)
{
  struct scanner s = { .pid = pid };

  scanner_feed (&s, buf, len);
  return s.found;
}

int
answer_open (struct answer_channel *ch, const char *dir)
{
  memset (ch, 0, sizeof (*ch));
  ch->inotify_fd = -1;
  ch->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ch->dirfd < 0)
    return -1;
  ch->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (ch->inotify_fd >= 0
      && inotify_add_watch (ch->inotify_fd, dir, IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0)
    {
      close (ch->inotify_fd);
      ch->inotify_fd = -1;
    }
  return 0;
}

void
answer_close (struct answer_channel *ch)
{
  if (ch->inotify_fd >= 0)
    close (ch->inotify_fd);
  if (ch->dirfd >= 0)
    close (ch->dirfd);
  ch->inotify_fd = ch->dirfd = -1;
}

/* The answers file, if it is a regular file; -1 otherwise. */
static int
open_answers (const struct answer_channel *ch, struct stat *st)
{
  int fd;

  if (ch->dirfd < 0)
    return -1;
  /* O_NONBLOCK: a FIFO planted here must not hang us before fstat says so */
  fd = openat (ch->dirfd, ANSWER_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -1;
  if (fstat (fd, st) < 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      return -1;
    }
  return fd;
}

void
answer_mark (struct answer_channel *ch)
{
  struct stat st;
  int fd = open_answers (ch, &st);

  ch->dev = 0;
  ch->ino = 0;
  ch->offset = 0;
  if (fd < 0)
    return;
  ch->dev = st.st_dev;
  ch->ino = st.st_ino;
  ch->offset = st.st_size;
  close (fd);
}

bool
answer_oom_killed (struct answer_channel *ch, pid_t pid)
{
  struct scanner s = { .pid = pid };
  struct stat st;
  char buf[4096];
  off_t pos, end;
  int fd = open_answers (ch, &st);

  if (fd < 0)
    return false;
  /* A file that is not the one marked (or got shorter) is all new. */
  pos = (st.st_dev == ch->dev && st.st_ino == ch->ino && st.st_size >= ch->offset) ? ch->offset : 0;
  end = pos + ANSWER_READ_MAX;
  while (pos < end && !s.found)
    {
      size_t want = (size_t) (end - pos) < sizeof (buf) ? (size_t) (end - pos) : sizeof (buf);
      ssize_t n = pread (fd, buf, want, pos);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      scanner_feed (&s, buf, (size_t) n);
      pos += n;
    }
  close (fd);
  return s.found;
}

void
answer_drain (struct answer_channel *ch)
{
  char buf[1024] __attribute__ ((aligned (__alignof__ (struct inotify_event))));

  if (ch->inotify_fd < 0)
    return;
  while (read (ch->inotify_fd, buf, sizeof (buf)) > 0)
    ;
}

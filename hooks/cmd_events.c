/* memhook events [--follow] [--json] [--state-dir DIR] [ID]: the event log
 * (events.jsonl.1, then events.jsonl) as a timeline, or the raw lines. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "events.h"
#include "json.h"
#include "options.h"
#include "statedir.h"
#include "timeline.h"

struct reader
{
  const char *id; /* filter, NULL = all */
  bool json;
  char *partial;  /* an unfinished last line (a writer mid-append) */
  size_t partial_len;
  size_t bad;     /* lines that did not parse */
};

static void
usage (FILE *out)
{
  fputs ("usage: memhook events [--follow] [--json] [--state-dir DIR] [ID]\n"
         "\n"
         "  -f, --follow     keep printing events as they are appended\n"
         "      --json       the raw JSON lines (one object a line) instead of the timeline\n"
         "      --state-dir  memhook's state dir (default: as the hook resolves it)\n"
         "  ID               only this container's events\n",
         out);
}

static void
emit_line (struct reader *r, const char *line, size_t len)
{
  cleanup_json struct json *e = NULL;
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *text = NULL;
  const struct json *id;

  if (len == 0)
    return;
  if (json_parse (line, len, EVENTS_FILE, &e, &err) < 0 || e->type != JSON_OBJECT)
    {
      r->bad++;
      return;
    }
  id = json_get (e, "id");
  if (r->id != NULL && (id == NULL || id->type != JSON_STRING || strcmp (id->u.string.data, r->id) != 0))
    return;
  if (r->json)
    {
      fwrite (line, 1, len, stdout);
      fputc ('\n', stdout);
      return;
    }
  if (timeline_format (e, &text, &err) < 0)
    {
      r->bad++;
      return;
    }
  puts (text);
}

/* Prints every whole line of the new data; keeps an unfinished one. */
static int
feed (struct reader *r, const char *data, size_t len)
{
  const char *p = data, *end = data + len;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', (size_t) (end - p));
      if (nl == NULL)
        {
          char *n = realloc (r->partial, r->partial_len + (size_t) (end - p) + 1);
          if (n == NULL)
            return -1;
          memcpy (n + r->partial_len, p, (size_t) (end - p));
          r->partial = n;
          r->partial_len += (size_t) (end - p);
          break;
        }
      if (r->partial_len > 0)
        {
          char *n = realloc (r->partial, r->partial_len + (size_t) (nl - p) + 1);
          if (n == NULL)
            return -1;
          memcpy (n + r->partial_len, p, (size_t) (nl - p));
          r->partial = n;
          emit_line (r, r->partial, r->partial_len + (size_t) (nl - p));
          r->partial_len = 0;
        }
      else
        emit_line (r, p, (size_t) (nl - p));
      p = nl + 1;
    }
  return 0;
}

static int
drain (struct reader *r, int fd)
{
  char buf[65536];
  ssize_t n;

  while ((n = read (fd, buf, sizeof (buf))) > 0)
    if (feed (r, buf, (size_t) n) < 0)
      return -1;
  fflush (stdout);
  return n < 0 && errno != EINTR ? -1 : 0;
}

static int
open_log (int dirfd, const char *name)
{
  return openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* Rotation renames events.jsonl to .1 and a writer makes a new one: once
 * the name points at another file, finish the old one and switch. */
static bool
replaced (int dirfd, int fd)
{
  struct stat a, b;

  if (fd < 0)
    return fstatat (dirfd, EVENTS_FILE, &b, AT_SYMLINK_NOFOLLOW) == 0;
  if (fstat (fd, &a) < 0 || fstatat (dirfd, EVENTS_FILE, &b, AT_SYMLINK_NOFOLLOW) < 0)
    return false;
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

static int
follow (struct reader *r, int dirfd, const char *state_dir, int fd)
{
  cleanup_close int in = inotify_init1 (IN_CLOEXEC);

  if (in < 0 || inotify_add_watch (in, state_dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
    {
      fprintf (stderr, "memhook: events: watch %s: %s\n", state_dir, strerror (errno));
      return 1;
    }
  for (;;)
    {
      char buf[4096] __attribute__ ((aligned (8)));

      /* Check before sleeping: the file may have changed since the last read. */
      if (fd >= 0 && drain (r, fd) < 0)
        break;
      if (replaced (dirfd, fd))
        {
          if (fd >= 0)
            {
              drain (r, fd);
              close (fd);
            }
          r->partial_len = 0;
          fd = open_log (dirfd, EVENTS_FILE);
          continue;
        }
      if (read (in, buf, sizeof (buf)) < 0 && errno != EINTR)
        break;
    }
  fprintf (stderr, "memhook: events: read %s/%s: %s\n", state_dir, EVENTS_FILE, strerror (errno));
  if (fd >= 0)
    close (fd);
  return 1;
}

int
cmd_events (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "follow", no_argument, NULL, 'f' }, { "json", no_argument, NULL, 'j' },
    { "state-dir", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct options_cli cli = { 0 };
  struct options opts = { 0 };
  struct reader r = { 0 };
  cleanup_error mh_error_t err = NULL;
  cleanup_close int dirfd = -1;
  bool want_follow = false;
  int c, status = 0;
  char text[2048];

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":fh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'f': want_follow = true; break;
      case 'j': r.json = true; break;
      case 's': cli.state_dir = optarg; break;
      case 'h': usage (stdout); return 0;
      case ':':
        fprintf (stderr, "memhook: events: %s needs a value\n", argv[optind - 1]);
        return 2;
      default:
        fprintf (stderr, "memhook: events: unknown option '%s'\n", argv[optind - 1]);
        usage (stderr);
        return 2;
      }
  if (argc - optind > 1)
    {
      fputs ("memhook: events: one container ID at most\n", stderr);
      return 2;
    }
  r.id = optind < argc ? argv[optind] : NULL;
  if (options_resolve (&cli, NULL, &opts, &err) < 0)
    {
      fprintf (stderr, "memhook: events: %s\n", mh_error_text (err, text, sizeof (text)));
      return 1;
    }
  if (statedir_open (opts.state_dir, false, &dirfd, &err) < 0)
    {
      fprintf (stderr, "memhook: events: %s; no container has run with this --state-dir yet, or give the one "
                       "the hook uses\n", mh_error_text (err, text, sizeof (text)));
      options_free (&opts);
      return 1;
    }
  int old = open_log (dirfd, EVENTS_ROTATED_FILE);
  if (old >= 0)
    {
      drain (&r, old);
      close (old);
      r.partial_len = 0;
    }
  int fd = open_log (dirfd, EVENTS_FILE);
  if (fd < 0 && errno != ENOENT)
    {
      fprintf (stderr, "memhook: events: open %s/%s: %s\n", opts.state_dir, EVENTS_FILE, strerror (errno));
      status = 1;
    }
  else if (want_follow)
    status = follow (&r, dirfd, opts.state_dir, fd);
  else if (fd >= 0)
    {
      drain (&r, fd);
      close (fd);
    }
  if (r.bad > 0)
    fprintf (stderr, "memhook: events: %zu line%s did not parse and %s skipped\n", r.bad, r.bad == 1 ? "" : "s",
             r.bad == 1 ? "was" : "were");
  free (r.partial);
  options_free (&opts);
  return status;
}

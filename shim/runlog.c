#include "runlog.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "json.h"

/* RFC 3339 in UTC, seconds: what logrus writes by default. */
static const char *
rfc3339_now (char *buf, size_t len)
{
  time_t now = time (NULL);
  struct tm tm;

  if (gmtime_r (&now, &tm) == NULL || strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf (buf, len, "1970-01-01T00:00:00Z");
  return buf;
}

static char *
json_line (const char *level, const char *msg, const char *time)
{
  cleanup_json struct json *o = json_new_object ();
  cleanup_error mh_error_t err = NULL;
  char *line = NULL;
  size_t len = 0;

  if (o == NULL || json_object_set (o, "level", json_new_string (level), &err) < 0
      || json_object_set (o, "msg", json_new_string (msg), &err) < 0
      || json_object_set (o, "time", json_new_string (time), &err) < 0
      || json_serialize_compact (o, &line, &len, &err) < 0)
    return NULL;
  /* Some serializers end the line themselves; make it exactly one. */
  while (len > 0 && line[len - 1] == '\n')
    line[--len] = '\0';
  char *with_nl = NULL;
  if (asprintf (&with_nl, "%s\n", line) < 0)
    with_nl = NULL;
  free (line);
  return with_nl;
}

/* logrus's text form: msg quoted as Go's %q would, for printable input. */
static char *
text_line (const char *level, const char *msg, const char *time)
{
  size_t len = strlen (msg);
  cleanup_free char *quoted = malloc (len * 4 + 3);
  char *q = quoted, *line = NULL;

  if (quoted == NULL)
    return NULL;
  *q++ = '"';
  for (const unsigned char *p = (const unsigned char *) msg; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          *q++ = '\\';
          *q++ = (char) *p;
        }
      else if (*p < 0x20 || *p == 0x7f)
        q += sprintf (q, "\\x%02x", *p);
      else
        *q++ = (char) *p;
    }
  *q++ = '"';
  *q = '\0';
  if (asprintf (&line, "time=\"%s\" level=%s msg=%s\n", time, level, quoted) < 0)
    return NULL;
  return line;
}

void
shim_report (const struct shim_args *args, enum shim_level level, const char *msg)
{
  const char *name = level == SHIM_LEVEL_ERROR ? "error" : "warning";
  char now[64];
  cleanup_free char *line = NULL;
  cleanup_close int fd = -1;

  fprintf (stderr, "%s\n", msg);
  if (args == NULL || args->log == NULL || args->log[0] == '\0')
    return;
  rfc3339_now (now, sizeof now);
  if (args->log_format != NULL && strcmp (args->log_format, "json") == 0)
    line = json_line (name, msg, now);
  else
    line = text_line (name, msg, now);
  if (line == NULL)
    return;
  fd = open (args->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
  if (fd >= 0)
    (void) write_all (fd, line, strlen (line));
}

#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

int
mh_error_make (mh_error_t *err, int errnum, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return -1;
  mh_error_free (err);
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    return -1;
  va_start (ap, fmt);
  (*err)->msg = vformat (fmt, ap);
  va_end (ap);
  (*err)->errnum = errnum;
  return -1;
}

int
mh_error_wrap (mh_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx, *joined = NULL;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  ctx = vformat (fmt, ap);
  va_end (ap);
  if (ctx == NULL)
    return -1;
  if (asprintf (&joined, "%s: %s", ctx, (*err)->msg ? (*err)->msg : "") >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = joined;
    }
  free (ctx);
  return -1;
}

const char *
mh_error_text (mh_error_t err, char *buf, size_t len)
{
  if (err == NULL)
    snprintf (buf, len, "unknown error");
  else if (err->errnum)
    snprintf (buf, len, "%s: %s", err->msg ? err->msg : "(out of memory)", strerror (err->errnum));
  else
    snprintf (buf, len, "%s", err->msg ? err->msg : "(out of memory)");
  return buf;
}

void
mh_error_free (mh_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

/* One error type for every fallible function (crun's pattern): a function
 * returns < 0 and fills *err with errno and a message; callers add context
 * with mh_error_wrap(); only main() prints. */
#ifndef MEMHOOK_ERROR_H
#define MEMHOOK_ERROR_H

#include <stdarg.h>
#include <stddef.h>

struct mh_error_s
{
  int errnum;   /* errno of the failing call, 0 when not a syscall failure */
  char *msg;
};
typedef struct mh_error_s *mh_error_t;

/* Fill *err (freeing a previous one) and return -1.  errnum 0 = no errno. */
int mh_error_make (mh_error_t *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Prefix the message with context: "ctx: old message".  Returns -1. */
int mh_error_wrap (mh_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* Message with ": strerror(errnum)" appended when errnum != 0; never NULL. */
const char *mh_error_text (mh_error_t err, char *buf, size_t len);
void mh_error_free (mh_error_t *err);

#define cleanup_error __attribute__ ((cleanup (mh_error_free)))

#endif

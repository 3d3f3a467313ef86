#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fsutil.h"

/* A record is a few KiB; anything near this is not ours. */
#define RECORD_MAX (1024 * 1024)

int
record_load (int container_dirfd, struct json **out, mh_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;

  *out = NULL;
  if (read_file_at (container_dirfd, RECORD_FILE, RECORD_MAX, &text, &len, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        {
          mh_error_free (err);
          return 0;
        }
      return -1;
    }
  if (json_parse (text, len, RECORD_FILE, out, err) < 0)
    return -1;
  if ((*out)->type != JSON_OBJECT)
    {
      json_free (*out);
      *out = NULL;
      return mh_error_make (err, 0, "%s: not a JSON object", RECORD_FILE);
    }
  return 0;
}

int
record_store (int container_dirfd, const struct json *record, mh_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;

  if (json_serialize (record, &text, &len, err) < 0)
    return mh_error_wrap (err, "%s", RECORD_FILE);
  char *nl = realloc (text, len + 2);
  if (nl == NULL)
    return mh_error_make (err, ENOMEM, "%s", RECORD_FILE);
  text = nl;
  text[len++] = '\n';
  text[len] = '\0';
  return write_file_replace (container_dirfd, RECORD_FILE, text, len, 0600, err);
}

/* Sizes and durations as operators and annotations write them.
 *
 * Parsing is exact: "1.5GiB" is 1610612736 bytes, a fraction that does not
 * land on a whole byte is rounded down, and nothing goes through a double,
 * so a value never changes by a rounding error between memhook and the
 * kernel. */
#include "size.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SIZE_EXAMPLES "use e.g. 64m, 1g, 1.5GiB, bytes, or max"
#define DURATION_EXAMPLES "use e.g. 100ms, 10s, 1.5m, 2h, or milliseconds"

/* A decimal number split at the point: "12.75" → whole 12, frac 75, 2 digits. */
struct decimal
{
  uint64_t whole;
  uint64_t frac;
  unsigned frac_digits;
  bool has_point;
  const char *end; /* first character after the number */
};

/* Digits, optionally ".digits".  Fraction digits beyond 18 are dropped:
 * they cannot change a result that is rounded down to a byte or a ms
 * (the largest unit is 2^50 < 10^16). */
static bool
decimal_scan (const char *s, struct decimal *d)
{
  const char *p = s;
  bool any = false;

  memset (d, 0, sizeof (*d));
  for (; isdigit ((unsigned char) *p); p++)
    {
      unsigned digit = (unsigned) (*p - '0');
      if (d->whole > (UINT64_MAX - digit) / 10)
        d->whole = UINT64_MAX; /* saturate: reported as too large */
      else
        d->whole = d->whole * 10 + digit;
      any = true;
    }
  if (*p == '.')
    {
      d->has_point = true;
      p++;
      for (; isdigit ((unsigned char) *p); p++)
        {
          if (d->frac_digits < 18)
            {
              d->frac = d->frac * 10 + (uint64_t) (*p - '0');
              d->frac_digits++;
            }
          any = true;
        }
    }
  d->end = p;
  return any;
}

/* whole·unit + frac·unit/10^digits, rounded down; false when above INT64_MAX. */
static bool
decimal_scale (const struct decimal *d, uint64_t unit, int64_t *out)
{
  unsigned __int128 v = (unsigned __int128) d->whole * unit;
  unsigned __int128 pow10 = 1;

  for (unsigned i = 0; i < d->frac_digits; i++)
    pow10 *= 10;
  v += (unsigned __int128) d->frac * unit / pow10;
  if (d->whole == UINT64_MAX || v > (unsigned __int128) INT64_MAX)
    return false;
  *out = (int64_t) v;
  return true;
}

struct unit
{
  const char *name;
  uint64_t factor;
};

static const struct unit size_units[] = {
  { "", 1 },
  { "b", 1 },
  { "k", 1ULL << 10 },
  { "kb", 1ULL << 10 },
  { "kib", 1ULL << 10 },
  { "m", 1ULL << 20 },
  { "mb", 1ULL << 20 },
  { "mib", 1ULL << 20 },
  { "g", 1ULL << 30 },
  { "gb", 1ULL << 30 },
  { "gib", 1ULL << 30 },
  { "t", 1ULL << 40 },
  { "tb", 1ULL << 40 },
  { "tib", 1ULL << 40 },
  { "p", 1ULL << 50 },
  { "pb", 1ULL << 50 },
  { "pib", 1ULL << 50 },
};

static const struct unit *
unit_find (const struct unit *units, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcasecmp (units[i].name, name) == 0)
      return &units[i];
  return NULL;
}

int
size_parse (const char *text, const char *what, int64_t *out, mh_error_t *err)
{
  struct decimal d;
  const struct unit *u;

  if (what == NULL)
    what = "size";
  if (text == NULL || *text == '\0')
    return mh_error_make (err, 0, "%s: empty value; " SIZE_EXAMPLES, what);
  if (strcmp (text, "-1") == 0 || strcasecmp (text, "max") == 0)
    {
      *out = SIZE_UNLIMITED;
      return 0;
    }
  if (text[0] == '-')
    return mh_error_make (err, 0, "%s: \"%s\" is negative; give a size, or -1/max for unlimited", what, text);
  if (!decimal_scan (text, &d))
    return mh_error_make (err, 0, "%s: \"%s\" is not a size; " SIZE_EXAMPLES, what, text);
  u = unit_find (size_units, sizeof (size_units) / sizeof (size_units[0]), d.end);
  if (u == NULL)
    return mh_error_make (err, 0, "%s: \"%s\" is not a size; " SIZE_EXAMPLES, what, text);
  if (d.has_point && u->factor == 1)
    return mh_error_make (err, 0, "%s: \"%s\" is a fraction of a byte; give whole bytes or a unit (k, m, g, t)",
                          what, text);
  if (!decimal_scale (&d, u->factor, out))
    return mh_error_make (err, 0, "%s: \"%s\" is too large (the most is 8 EiB - 1 byte); give a smaller size or max",
                          what, text);
  return 0;
}

static const struct unit format_units[] = {
  { "EiB", 1ULL << 60 },
  { "PiB", 1ULL << 50 },
  { "TiB", 1ULL << 40 },
  { "GiB", 1ULL << 30 },
  { "MiB", 1ULL << 20 },
  { "KiB", 1ULL << 10 },
};

/* The largest unit that shows the value exactly with at most two decimals;
 * otherwise plain bytes, so a message never hides a byte. */
const char *
size_format (int64_t bytes, char *buf, size_t len)
{
  if (bytes == SIZE_UNLIMITED)
    {
      snprintf (buf, len, "unlimited");
      return buf;
    }
  if (bytes > 0)
    for (size_t i = 0; i < sizeof (format_units) / sizeof (format_units[0]); i++)
      {
        uint64_t f = format_units[i].factor;
        uint64_t b = (uint64_t) bytes;
        uint64_t whole = b / f, rem = b % f, hundredths;

        /* exact in hundredths ⇔ 100·rem divisible by f ⇔ rem divisible by f/4 */
        if (whole == 0 || rem % (f / 4) != 0)
          continue;
        hundredths = rem / (f / 4) * 25;
        if (hundredths == 0)
          snprintf (buf, len, "%" PRIu64 " %s", whole, format_units[i].name);
        else if (hundredths % 10 == 0)
          snprintf (buf, len, "%" PRIu64 ".%" PRIu64 " %s", whole, hundredths / 10, format_units[i].name);
        else
          snprintf (buf, len, "%" PRIu64 ".%02" PRIu64 " %s", whole, hundredths, format_units[i].name);
        return buf;
      }
  snprintf (buf, len, "%" PRId64 " %s", bytes, bytes == 1 ? "byte" : "bytes");
  return buf;
}

static const struct unit duration_units[] = {
  { "", 1 },
  { "ms", 1 },
  { "s", 1000 },
  { "m", 60 * 1000 },
  { "h", 60 * 60 * 1000 },
};

int
duration_parse (const char *text, const char *what, int64_t *out_ms, mh_error_t *err)
{
  struct decimal d;
  const struct unit *u;

  if (what == NULL)
    what = "duration";
  if (text == NULL || *text == '\0')
    return mh_error_make (err, 0, "%s: empty duration; " DURATION_EXAMPLES, what);
  if (text[0] == '-')
    return mh_error_make (err, 0, "%s: \"%s\" is negative; " DURATION_EXAMPLES, what, text);
  if (!decimal_scan (text, &d))
    return mh_error_make (err, 0, "%s: \"%s\" is not a duration; " DURATION_EXAMPLES, what, text);
  u = unit_find (duration_units, sizeof (duration_units) / sizeof (duration_units[0]), d.end);
  if (u == NULL)
    return mh_error_make (err, 0, "%s: \"%s\" is not a duration; " DURATION_EXAMPLES, what, text);
  if (!decimal_scale (&d, u->factor, out_ms))
    return mh_error_make (err, 0, "%s: \"%s\" is too long; give a shorter duration", what, text);
  return 0;
}

/* The restart policy: annotations in, decisions, delays and grown limits out.
 * No I/O here: memhook-runtime, the watcher and memhook-init share it. */
#include "policy.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "size.h"

#define MODE_FIX "use no, on-oom[:N], on-failure[:N] or always"
#define BACKOFF_FIX "use INITIAL[,MAX[,RESET]], e.g. 100ms,1m,10s"
#define GROW_FIX "use FACTOR[,MAX], e.g. 1.5,1g"
/* Far above any sensible count; keeps N in an unsigned. */
#define MAX_RESTART_COUNT 1000000u

void
restart_policy_init (struct restart_policy *policy)
{
  memset (policy, 0, sizeof (*policy));
  policy->mode = RESTART_NO;
  policy->backoff_initial_ms = RESTART_BACKOFF_INITIAL_MS;
  policy->backoff_max_ms = RESTART_BACKOFF_MAX_MS;
  policy->backoff_reset_ms = RESTART_BACKOFF_RESET_MS;
  policy->grow_max = -1;
}

/* "3" → 3; digits only, no sign, no spaces. */
static bool
parse_count (const char *s, unsigned *out)
{
  unsigned long v = 0;

  if (*s == '\0')
    return false;
  for (; *s; s++)
    {
      if (!isdigit ((unsigned char) *s))
        return false;
      v = v * 10 + (unsigned long) (*s - '0');
      if (v > MAX_RESTART_COUNT)
        return false;
    }
  *out = (unsigned) v;
  return true;
}

/* Each parser names the setting as the user gave it: `name` is the
 * annotation, or the environment variable standing in for it. */
static int
parse_mode (const char *text, const char *name, struct restart_policy *policy, mh_error_t *err)
{
  static const struct
  {
    const char *word;
    enum restart_mode mode;
    bool takes_count;
  } modes[] = {
    { "no", RESTART_NO, false },
    { "on-oom", RESTART_ON_OOM, true },
    { "on-failure", RESTART_ON_FAILURE, true },
    { "always", RESTART_ALWAYS, false },
  };
  const char *colon;
  size_t name_len;

  if (text == NULL || *text == '\0')
    return mh_error_make (err, 0, "%s: empty value; " MODE_FIX, name);
  colon = strchr (text, ':');
  name_len = colon ? (size_t) (colon - text) : strlen (text);
  for (size_t i = 0; i < sizeof (modes) / sizeof (modes[0]); i++)
    {
      unsigned count = 0;

      if (strlen (modes[i].word) != name_len || strncmp (modes[i].word, text, name_len) != 0)
        continue;
      if (colon && !modes[i].takes_count)
        return mh_error_make (err, 0, "%s: \"%s\" takes no count; use %s, or on-failure:N"
                              " or on-oom:N for at most N restarts", name, text, modes[i].word);
      if (colon && !parse_count (colon + 1, &count))
        return mh_error_make (err, 0, "%s: \"%s\" has a bad count \"%s\"; N is the most"
                              " restarts, a whole number up to %u (0 = no limit)", name, text, colon + 1,
                              MAX_RESTART_COUNT);
      policy->mode = modes[i].mode;
      policy->max_restarts = count;
      return 0;
    }
  return mh_error_make (err, 0, "%s: \"%s\" is not a policy; " MODE_FIX, name, text);
}

int
restart_parse_mode (const char *text, struct restart_policy *policy, mh_error_t *err)
{
  return parse_mode (text, RESTART_ANNOTATION, policy, err);
}

/* Split "a,b,c" into at most `max` non-empty fields of at most 63 bytes. */
static int
split_fields (const char *text, const char *what, const char *fix, char fields[][64], size_t max,
              size_t *n, mh_error_t *err)
{
  const char *p = text;

  *n = 0;
  if (text == NULL || *text == '\0')
    return mh_error_make (err, 0, "%s: empty value; %s", what, fix);
  for (;;)
    {
      const char *comma = strchr (p, ',');
      size_t len = comma ? (size_t) (comma - p) : strlen (p);

      if (*n == max)
        return mh_error_make (err, 0, "%s: \"%s\" has more than %zu values; %s", what, text, max, fix);
      if (len == 0)
        return mh_error_make (err, 0, "%s: \"%s\" has an empty value; %s", what, text, fix);
      if (len >= 64)
        return mh_error_make (err, 0, "%s: \"%s\" has a value too long to be one; %s", what, text, fix);
      memcpy (fields[*n], p, len);
      fields[*n][len] = '\0';
      (*n)++;
      if (comma == NULL)
        return 0;
      p = comma + 1;
    }
}

static int
parse_backoff (const char *text, const char *name, struct restart_policy *policy, mh_error_t *err)
{
  static const char *parts[] = { "INITIAL", "MAX", "RESET" };
  char fields[3][64], what[160];
  int64_t ms[3] = { 0, RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_RESET_MS };
  size_t n;

  if (split_fields (text, name, BACKOFF_FIX, fields, 3, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      snprintf (what, sizeof what, "%s %s", name, parts[i]);
      if (duration_parse (fields[i], what, &ms[i], err) < 0)
        return -1;
      if (ms[i] == 0)
        return mh_error_make (err, 0, "%s: %s \"%s\" must be above 0; %s", name, parts[i], fields[i], BACKOFF_FIX);
      if (ms[i] > RESTART_BACKOFF_LIMIT_MS)
        return mh_error_make (err, 0, "%s: %s \"%s\" is longer than a day; give at most 24h", name, parts[i],
                              fields[i]);
    }
  /* A lone INITIAL above the default MAX raises MAX rather than failing. */
  if (n == 1 && ms[1] < ms[0])
    ms[1] = ms[0];
  if (ms[1] < ms[0])
    return mh_error_make (err, 0, "%s: MAX \"%s\" is below INITIAL \"%s\"; give MAX >= INITIAL", name, fields[1],
                          fields[0]);
  policy->backoff_initial_ms = ms[0];
  policy->backoff_max_ms = ms[1];
  policy->backoff_reset_ms = ms[2];
  return 0;
}

int
restart_parse_backoff (const char *text, struct restart_policy *policy, mh_error_t *err)
{
  return parse_backoff (text, RESTART_BACKOFF_ANNOTATION, policy, err);
}

/* "1.5" → 1500000 millionths; at most 6 decimals, no sign, no exponent. */
static bool
parse_factor (const char *s, uint64_t *out)
{
  uint64_t whole = 0, frac = 0;
  unsigned frac_digits = 0;
  bool any = false;

  for (; isdigit ((unsigned char) *s); s++, any = true)
    {
      whole = whole * 10 + (uint64_t) (*s - '0');
      if (whole > RESTART_GROW_FACTOR_MAX)
        whole = RESTART_GROW_FACTOR_MAX + 1; /* out of range, said by the caller */
    }
  if (*s == '.')
    for (s++; isdigit ((unsigned char) *s); s++, any = true)
      {
        if (++frac_digits > 6)
          return false;
        frac = frac * 10 + (uint64_t) (*s - '0');
      }
  if (!any || *s != '\0')
    return false;
  for (; frac_digits < 6; frac_digits++)
    frac *= 10;
  *out = whole * RESTART_GROW_SCALE + frac;
  return true;
}

static int
parse_grow (const char *text, const char *name, struct restart_policy *policy, mh_error_t *err)
{
  char fields[2][64], what[160];
  uint64_t factor;
  int64_t max = -1;
  size_t n;

  if (split_fields (text, name, GROW_FIX, fields, 2, &n, err) < 0)
    return -1;
  if (!parse_factor (fields[0], &factor))
    return mh_error_make (err, 0, "%s: FACTOR \"%s\" is not a number; give a decimal above 1 and at most %d with"
                          " up to 6 decimals, e.g. 1.5", name, fields[0], RESTART_GROW_FACTOR_MAX);
  if (factor <= RESTART_GROW_SCALE || factor > (uint64_t) RESTART_GROW_FACTOR_MAX * RESTART_GROW_SCALE)
    return mh_error_make (err, 0, "%s: FACTOR \"%s\" must be above 1 and at most %d; e.g. 1.5", name, fields[0],
                          RESTART_GROW_FACTOR_MAX);
  if (n == 2)
    {
      snprintf (what, sizeof what, "%s MAX", name);
      if (size_parse (fields[1], what, &max, err) < 0)
        return -1;
      if (max == 0)
        return mh_error_make (err, 0, "%s: MAX \"%s\" must be above 0; give a size such as 1g, or max for no"
                              " ceiling", name, fields[1]);
    }
  policy->grow = true;
  policy->grow_factor = (uint32_t) factor;
  policy->grow_max = max;
  return 0;
}

int
restart_parse_grow (const char *text, struct restart_policy *policy, mh_error_t *err)
{
  return parse_grow (text, RESTART_GROW_ANNOTATION, policy, err);
}

static const char *
source_name (const struct restart_source *s, const char *annotation)
{
  return s->name ? s->name : annotation;
}

int
restart_policy_parse_sources (const struct restart_sources *src, struct restart_policy *policy, mh_error_t *err)
{
  struct restart_policy p;

  restart_policy_init (&p);
  if (src->restart.value != NULL
      && parse_mode (src->restart.value, source_name (&src->restart, RESTART_ANNOTATION), &p, err) < 0)
    return -1;
  if (src->backoff.value != NULL
      && parse_backoff (src->backoff.value, source_name (&src->backoff, RESTART_BACKOFF_ANNOTATION), &p, err) < 0)
    return -1;
  if (src->grow.value != NULL
      && parse_grow (src->grow.value, source_name (&src->grow, RESTART_GROW_ANNOTATION), &p, err) < 0)
    return -1;
  *policy = p;
  return 0;
}

int
restart_policy_parse (const char *restart, const char *backoff, const char *grow, struct restart_policy *policy,
                      mh_error_t *err)
{
  const struct restart_sources src = {
    .restart = { .value = restart },
    .backoff = { .value = backoff },
    .grow = { .value = grow },
  };

  return restart_policy_parse_sources (&src, policy, err);
}

static bool
policy_covers (enum restart_mode mode, enum restart_verdict verdict, int exit_code)
{
  switch (mode)
    {
    case RESTART_ON_OOM:
      /* Killed and an exit after a child's OOM are not the workload's OOM. */
      return verdict == RESTART_VERDICT_OOMKILLED;
    case RESTART_ON_FAILURE:
      return verdict == RESTART_VERDICT_OOMKILLED || verdict == RESTART_VERDICT_KILLED
             || (verdict == RESTART_VERDICT_EXITED && exit_code != 0);
    case RESTART_ALWAYS:
      return true;
    case RESTART_NO:
    default:
      return false;
    }
}

enum restart_decision
restart_decide (const struct restart_policy *policy, enum restart_verdict verdict, int exit_code,
                unsigned attempts_so_far, bool stop_requested)
{
  if (stop_requested)
    return RESTART_STOP_REQUESTED;
  if (!policy_covers (policy->mode, verdict, exit_code))
    return RESTART_STOP_POLICY;
  if (policy->max_restarts != 0 && attempts_so_far >= policy->max_restarts)
    return RESTART_STOP_SPENT;
  return RESTART_GO;
}

int64_t
restart_next_delay (const struct restart_policy *policy, struct restart_backoff *state, int64_t run_duration_ms)
{
  int64_t delay;

  if (state->last_delay_ms <= 0 || run_duration_ms >= policy->backoff_reset_ms)
    delay = policy->backoff_initial_ms;
  else if (state->last_delay_ms > policy->backoff_max_ms / 2)
    delay = policy->backoff_max_ms;
  else
    delay = state->last_delay_ms * 2;
  if (delay > policy->backoff_max_ms)
    delay = policy->backoff_max_ms;
  state->last_delay_ms = delay;
  return delay;
}

bool
restart_grow (const struct restart_policy *policy, int64_t limit, int64_t swap, int64_t *new_limit,
              int64_t *new_swap)
{
  unsigned __int128 grown;
  int64_t allowance;

  *new_limit = limit;
  *new_swap = swap;
  if (!policy->grow || limit <= 0)
    return false;
  grown = (unsigned __int128) limit * policy->grow_factor / RESTART_GROW_SCALE;
  if (policy->grow_max > 0 && grown > (unsigned __int128) policy->grow_max)
    grown = (unsigned __int128) policy->grow_max;
  if (grown > (unsigned __int128) INT64_MAX)
    grown = INT64_MAX;
  grown &= ~(unsigned __int128) (RESTART_PAGE_SIZE - 1);
  if (grown <= (unsigned __int128) limit)
    return false;
  *new_limit = (int64_t) grown;
  if (swap > 0)
    {
      /* A swap below the limit is refused before any run; never shrink it. */
      allowance = swap > limit ? swap - limit : 0;
      *new_swap = allowance > INT64_MAX - *new_limit ? INT64_MAX : *new_limit + allowance;
    }
  return true;
}

const char *
restart_mode_name (enum restart_mode mode)
{
  switch (mode)
    {
    case RESTART_ON_OOM:
      return "on-oom";
    case RESTART_ON_FAILURE:
      return "on-failure";
    case RESTART_ALWAYS:
      return "always";
    case RESTART_NO:
    default:
      return "no";
    }
}

const char *
restart_verdict_name (enum restart_verdict verdict)
{
  switch (verdict)
    {
    case RESTART_VERDICT_OOMKILLED:
      return "OOMKilled";
    case RESTART_VERDICT_KILLED:
      return "Killed";
    case RESTART_VERDICT_EXITED:
      return "Exited";
    case RESTART_VERDICT_ENDED:
      return "Ended";
    case RESTART_VERDICT_UNKNOWN:
    default:
      return "Unknown";
    }
}

const char *
restart_decision_name (enum restart_decision decision)
{
  switch (decision)
    {
    case RESTART_GO:
      return "restart";
    case RESTART_STOP_POLICY:
      return "the policy does not restart";
    case RESTART_STOP_SPENT:
      return "restarts spent";
    case RESTART_STOP_REQUESTED:
    default:
      return "stop requested";
    }
}

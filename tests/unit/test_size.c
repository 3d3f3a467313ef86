/* Sizes and durations: units, decimals, limits, error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "size.h"

static int64_t
parse_ok (const char *text)
{
  mh_error_t err = NULL;
  int64_t v = 12345;

  if (size_parse (text, "--max-limit", &v, &err) < 0)
    fail_msg ("size_parse(\"%s\") failed: %s", text, err->msg);
  assert_null (err);
  return v;
}

/* Returns the error message (caller frees via the returned error). */
static void
parse_bad (const char *text, const char *expect_substring)
{
  mh_error_t err = NULL;
  int64_t v = 777;

  assert_int_equal (size_parse (text, "--max-limit", &v, &err), -1);
  assert_non_null (err);
  assert_int_equal (v, 777); /* untouched on error */
  if (strstr (err->msg, expect_substring) == NULL)
    fail_msg ("size_parse(\"%s\"): message \"%s\" lacks \"%s\"", text, err->msg, expect_substring);
  assert_non_null (strstr (err->msg, "--max-limit"));
  mh_error_free (&err);
}

static void
test_units (void **state)
{
  (void) state;
  assert_int_equal (parse_ok ("4096"), 4096);
  assert_int_equal (parse_ok ("0"), 0);
  assert_int_equal (parse_ok ("10b"), 10);
  assert_int_equal (parse_ok ("10B"), 10);
  assert_int_equal (parse_ok ("1k"), 1024);
  assert_int_equal (parse_ok ("1K"), 1024);
  assert_int_equal (parse_ok ("1kb"), 1024);
  assert_int_equal (parse_ok ("1KiB"), 1024);
  assert_int_equal (parse_ok ("64m"), 64LL << 20);
  assert_int_equal (parse_ok ("64M"), 64LL << 20);
  assert_int_equal (parse_ok ("64mb"), 64LL << 20);
  assert_int_equal (parse_ok ("64MB"), 64LL << 20); /* Docker: binary even when spelled MB */
  assert_int_equal (parse_ok ("512MiB"), 512LL << 20);
  assert_int_equal (parse_ok ("512mib"), 512LL << 20);
  assert_int_equal (parse_ok ("1g"), 1LL << 30);
  assert_int_equal (parse_ok ("1GiB"), 1LL << 30);
  assert_int_equal (parse_ok ("2t"), 2LL << 40);
  assert_int_equal (parse_ok ("2TiB"), 2LL << 40);
  assert_int_equal (parse_ok ("1p"), 1LL << 50);
}

static void
test_unlimited (void **state)
{
  (void) state;
  assert_int_equal (parse_ok ("-1"), SIZE_UNLIMITED);
  assert_int_equal (parse_ok ("max"), SIZE_UNLIMITED);
  assert_int_equal (parse_ok ("MAX"), SIZE_UNLIMITED);
}

static void
test_decimals (void **state)
{
  (void) state;
  assert_int_equal (parse_ok ("1.5GiB"), 1610612736);
  assert_int_equal (parse_ok ("1.5g"), 1610612736);
  assert_int_equal (parse_ok ("0.5k"), 512);
  assert_int_equal (parse_ok (".5k"), 512);
  assert_int_equal (parse_ok ("2.25m"), 2359296);
  /* 0.1 KiB = 102.4 bytes: rounded down, exactly */
  assert_int_equal (parse_ok ("0.1k"), 102);
  /* 1/3 GiB written out: 357913941.33… → 357913941 */
  assert_int_equal (parse_ok ("0.333333333333333333333g"), 357913941);
  assert_int_equal (parse_ok ("1.999999999999999999999k"), 2047);
  assert_int_equal (parse_ok ("1.0m"), 1 << 20);
}

static void
test_bad (void **state)
{
  (void) state;
  parse_bad ("64x", "\"64x\" is not a size; use e.g. 64m, 1g, 1.5GiB, bytes, or max");
  parse_bad ("", "empty");
  parse_bad ("m", "is not a size");
  parse_bad ("abc", "is not a size");
  parse_bad ("64 m", "is not a size");
  parse_bad (" 64m", "is not a size");
  parse_bad ("64m ", "is not a size");
  parse_bad ("+64m", "is not a size");
  parse_bad ("1e6", "is not a size");
  parse_bad ("0x10", "is not a size");
  parse_bad ("1.5", "fraction of a byte");
  parse_bad ("1..5g", "is not a size");
  parse_bad ("1.5.g", "is not a size");
  parse_bad ("-2", "negative");
  parse_bad ("-64m", "negative");
  parse_bad ("-0", "negative");
  parse_bad ("--1", "negative");
  parse_bad ("8e", "is not a size");
  parse_bad ("1mm", "is not a size");
  parse_bad ("1gibb", "is not a size");
}

static void
test_overflow (void **state)
{
  (void) state;
  assert_int_equal (parse_ok ("9223372036854775807"), INT64_MAX);
  parse_bad ("9223372036854775808", "too large");
  parse_bad ("99999999999999999999999999", "too large");
  parse_bad ("8388608t", "too large"); /* 2^23 TiB = 2^63 */
  assert_int_equal (parse_ok ("8388607t"), 8388607LL << 40);
  parse_bad ("8192p", "too large");
  /* 18 fraction digits count: just below 8 EiB, rounded down to INT64_MAX */
  assert_int_equal (parse_ok ("8191.99999999999999999999p"), INT64_MAX);
  assert_int_equal (parse_ok ("8191.5p"), (int64_t) (8191.5 * (double) (1LL << 50)));
}

static void
test_null_what (void **state)
{
  mh_error_t err = NULL;
  int64_t v;
  (void) state;
  assert_int_equal (size_parse (NULL, NULL, &v, &err), -1);
  assert_non_null (strstr (err->msg, "size: empty"));
  mh_error_free (&err);
}

static void
format_is (int64_t bytes, const char *expect)
{
  char buf[64];
  assert_string_equal (size_format (bytes, buf, sizeof buf), expect);
}

static void
test_format (void **state)
{
  (void) state;
  format_is (-1, "unlimited");
  format_is (0, "0 bytes");
  format_is (1, "1 byte");
  format_is (4095, "4095 bytes");
  format_is (4096, "4 KiB");
  format_is (64LL << 20, "64 MiB");
  format_is (32LL << 20, "32 MiB");
  format_is (1610612736, "1.5 GiB");
  format_is ((1LL << 30) + (1LL << 28), "1.25 GiB");
  format_is ((1LL << 30) * 3 / 4, "768 MiB");
  format_is (1536, "1.5 KiB");
  format_is (1280, "1.25 KiB");
  format_is (67108865, "67108865 bytes"); /* never hide a byte */
  format_is (100000000, "97656.25 KiB");
  format_is (1LL << 40, "1 TiB");
  format_is (1LL << 60, "1 EiB");
  format_is (INT64_MAX, "9223372036854775807 bytes");
  format_is (-5, "-5 bytes");
}

static void
test_format_truncates_safely (void **state)
{
  char buf[4];
  (void) state;
  size_format (64LL << 20, buf, sizeof buf);
  assert_int_equal (strlen (buf), 3);
}

/* Every whole unit value formats and parses back to itself. */
static void
test_roundtrip (void **state)
{
  static const char *units[] = { "k", "m", "g", "t" };
  (void) state;
  for (size_t u = 0; u < 4; u++)
    for (int64_t n = 1; n < 3000; n += 7)
      {
        char text[64], buf[64], back[64];
        int64_t v, w;
        mh_error_t err = NULL;

        snprintf (text, sizeof text, "%lld%s", (long long) n, units[u]);
        assert_int_equal (size_parse (text, "x", &v, &err), 0);
        size_format (v, buf, sizeof buf);
        /* "64 MiB" → "64MiB" parses back */
        size_t j = 0;
        for (size_t i = 0; buf[i] && j < sizeof back - 1; i++)
          if (buf[i] != ' ')
            back[j++] = buf[i];
        back[j] = '\0';
        if (strstr (back, "bytes"))
          continue;
        assert_int_equal (size_parse (back, "x", &w, &err), 0);
        assert_int_equal (v, w);
      }
}

static int64_t
dur_ok (const char *text)
{
  mh_error_t err = NULL;
  int64_t v = -5;

  if (duration_parse (text, "io.memhook.restart.backoff", &v, &err) < 0)
    fail_msg ("duration_parse(\"%s\"): %s", text, err->msg);
  return v;
}

static void
dur_bad (const char *text, const char *expect)
{
  mh_error_t err = NULL;
  int64_t v = 99;

  assert_int_equal (duration_parse (text, "io.memhook.restart.backoff", &v, &err), -1);
  assert_int_equal (v, 99);
  if (strstr (err->msg, expect) == NULL || strstr (err->msg, "io.memhook.restart.backoff") == NULL)
    fail_msg ("duration_parse(\"%s\"): \"%s\" lacks \"%s\"", text, err->msg, expect);
  mh_error_free (&err);
}

static void
test_durations (void **state)
{
  (void) state;
  assert_int_equal (dur_ok ("100ms"), 100);
  assert_int_equal (dur_ok ("100"), 100);
  assert_int_equal (dur_ok ("0"), 0);
  assert_int_equal (dur_ok ("10s"), 10000);
  assert_int_equal (dur_ok ("1.5s"), 1500);
  assert_int_equal (dur_ok ("1m"), 60000);
  assert_int_equal (dur_ok ("1.5m"), 90000);
  assert_int_equal (dur_ok ("2h"), 7200000);
  assert_int_equal (dur_ok ("0.0015s"), 1); /* rounded down to the ms */
  assert_int_equal (dur_ok ("1.9ms"), 1);
  assert_int_equal (dur_ok ("2H"), 7200000);
  dur_bad ("", "empty");
  dur_bad ("10x", "is not a duration");
  dur_bad ("10 s", "is not a duration");
  dur_bad ("-1s", "negative");
  dur_bad ("1d", "is not a duration");
  dur_bad ("s", "is not a duration");
  dur_bad ("9999999999999999999h", "too long");
  dur_bad ("9223372036854775808", "too long");
  assert_int_equal (dur_ok ("9223372036854775807"), INT64_MAX);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_units),
    cmocka_unit_test (test_unlimited),
    cmocka_unit_test (test_decimals),
    cmocka_unit_test (test_bad),
    cmocka_unit_test (test_overflow),
    cmocka_unit_test (test_null_what),
    cmocka_unit_test (test_format),
    cmocka_unit_test (test_format_truncates_safely),
    cmocka_unit_test (test_roundtrip),
    cmocka_unit_test (test_durations),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

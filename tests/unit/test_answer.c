/* init/answer.c: the verdict channel memhook-init reads (untrusted input).
 * answer.c is not part of libmemhook (it lives only in the static
 * memhook-init), so it is compiled into this test directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../init/answer.c"

#define SCAN(text, pid) answer_scan (text, sizeof (text) - 1, pid)

static void
test_scan_accepts_exact_lines (void **state)
{
  (void) state;
  assert_true (SCAN ("oom_kill 7\n", 7));
  assert_true (SCAN ("oom_kill 3\noom_kill 7\n", 7));
  assert_true (SCAN ("garbage\noom_kill 7\n", 7));
  assert_true (SCAN ("oom_kill 4194304\n", 4194304));
}

static void
test_scan_refuses_everything_else (void **state)
{
  (void) state;
  assert_false (SCAN ("", 7));
  assert_false (SCAN ("oom_kill 7", 7));         /* no newline: the writer is not done */
  assert_false (SCAN ("oom_kill 17\n", 7));
  assert_false (SCAN ("oom_kill 70\n", 7));
  assert_false (SCAN ("oom_kill 07\n", 7));
  assert_false (SCAN ("oom_kill +7\n", 7));
  assert_false (SCAN ("oom_kill -7\n", 7));
  assert_false (SCAN ("oom_kill  7\n", 7));
  assert_false (SCAN ("oom_kill 7 \n", 7));
  assert_false (SCAN (" oom_kill 7\n", 7));
  assert_false (SCAN ("oom_kill 7\r\n", 7));
  assert_false (SCAN ("OOM_KILL 7\n", 7));
  assert_false (SCAN ("oom_killed 7\n", 7));
  assert_false (SCAN ("oom_kill\n", 7));
  assert_false (SCAN ("oom_kill \n", 0));
  assert_false (SCAN ("oom_kill 0\n", 0));
  assert_false (SCAN ("oom_kill 4194305\n", 4194305));
  assert_false (SCAN ("oom_kill 99999999999999999999999\n", 7));
  /* an over-long line is dropped whole, even if it ends like an answer */
  assert_false (SCAN ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx oom_kill 7\n", 7));
  assert_false (SCAN ("oom_kill 7\0\n", 7));
}

struct dir
{
  char path[64];
  char file[96];
};

static void
dir_make (struct dir *d)
{
  strcpy (d->path, "/tmp/memhook-test-answer-XXXXXX");
  assert_non_null (mkdtemp (d->path));
  snprintf (d->file, sizeof (d->file), "%s/" ANSWER_FILE, d->path);
}

static void
dir_remove (struct dir *d)
{
  unlink (d->file);
  rmdir (d->path);
}

static void
append (const struct dir *d, const char *text)
{
  FILE *f = fopen (d->file, "a");

  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static void
test_only_answers_after_the_mark_count (void **state)
{
  struct answer_channel ch;
  struct dir d;

  (void) state;
  dir_make (&d);
  assert_int_equal (answer_open (&ch, d.path), 0);
  /* no file yet: no answer */
  answer_mark (&ch);
  assert_false (answer_oom_killed (&ch, 7));
  /* written after the mark: counts */
  append (&d, "oom_kill 7\n");
  assert_true (answer_oom_killed (&ch, 7));
  assert_false (answer_oom_killed (&ch, 8));
  /* a new run: the old answer for a reused pid is history */
  answer_mark (&ch);
  assert_false (answer_oom_killed (&ch, 7));
  append (&d, "oom_kill 9\n");
  assert_false (answer_oom_killed (&ch, 7));
  append (&d, "oom_kill 7\n");
  assert_true (answer_oom_killed (&ch, 7));
  answer_close (&ch);
  dir_remove (&d);
}

static void
test_replaced_file_is_read_whole (void **state)
{
  struct answer_channel ch;
  struct dir d;
  char tmp[128];
  FILE *f;

  (void) state;
  dir_make (&d);
  append (&d, "oom_kill 3\noom_kill 4\n");
  assert_int_equal (answer_open (&ch, d.path), 0);
  answer_mark (&ch);
  /* renamed over (a new inode): everything in it is new */
  snprintf (tmp, sizeof (tmp), "%s/new", d.path);
  f = fopen (tmp, "w");
  assert_non_null (f);
  fputs ("oom_kill 5\n", f);
  fclose (f);
  assert_int_equal (rename (tmp, d.file), 0);
  assert_true (answer_oom_killed (&ch, 5));
  answer_close (&ch);
  dir_remove (&d);
}

static void
test_not_a_regular_file_is_ignored (void **state)
{
  struct answer_channel ch;
  struct dir d;
  char target[128];
  FILE *f;

  (void) state;
  dir_make (&d);
  assert_int_equal (answer_open (&ch, d.path), 0);
  answer_mark (&ch);
  /* a FIFO must neither block nor answer */
  assert_int_equal (mkfifo (d.file, 0600), 0);
  assert_false (answer_oom_killed (&ch, 7));
  unlink (d.file);
  /* a symlink is not followed */
  snprintf (target, sizeof (target), "%s/elsewhere", d.path);
  f = fopen (target, "w");
  assert_non_null (f);
  fputs ("oom_kill 7\n", f);
  fclose (f);
  assert_int_equal (symlink ("elsewhere", d.file), 0);
  assert_false (answer_oom_killed (&ch, 7));
  unlink (target);
  answer_close (&ch);
  dir_remove (&d);
}

static void
test_read_is_bounded (void **state)
{
  struct answer_channel ch;
  struct dir d;
  FILE *f;
  char *junk = malloc (ANSWER_READ_MAX);

  (void) state;
  assert_non_null (junk);
  memset (junk, 'x', ANSWER_READ_MAX);
  junk[ANSWER_READ_MAX - 1] = '\n';
  dir_make (&d);
  assert_int_equal (answer_open (&ch, d.path), 0);
  answer_mark (&ch);
  f = fopen (d.file, "w");
  assert_non_null (f);
  fwrite (junk, 1, ANSWER_READ_MAX, f);
  fputs ("oom_kill 7\n", f);
  fclose (f);
  /* past the bound: not read, so not an answer */
  assert_false (answer_oom_killed (&ch, 7));
  free (junk);
  answer_close (&ch);
  dir_remove (&d);
}

static void
test_missing_dir (void **state)
{
  struct answer_channel ch;

  (void) state;
  assert_int_equal (answer_open (&ch, "/nonexistent/memhook-answers"), -1);
  assert_int_equal (ch.dirfd, -1);
  answer_mark (&ch);
  assert_false (answer_oom_killed (&ch, 7));
  answer_close (&ch);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_scan_accepts_exact_lines),
    cmocka_unit_test (test_scan_refuses_everything_else),
    cmocka_unit_test (test_only_answers_after_the_mark_count),
    cmocka_unit_test (test_replaced_file_is_read_whole),
    cmocka_unit_test (test_not_a_regular_file_is_ignored),
    cmocka_unit_test (test_read_is_bounded),
    cmocka_unit_test (test_missing_dir),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

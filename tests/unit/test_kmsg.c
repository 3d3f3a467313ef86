/* Parsing the kernel's OOM report as /dev/kmsg gives it (lines taken from
 * a real v1 host, kernel 6.18) and pairing summaries with kill lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kmsg.h"

#define SUMMARY_V1                                                                                      \
  "6,501,359904402,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"     \
  "oom_memcg=/memhook-w/t1,task_memcg=/memhook-w/t1,task=touch,pid=10856,uid=0\n"
#define KILLED_V1                                                                                       \
  "3,502,359904413,-;Memory cgroup out of memory: Killed process 10856 (touch) total-vm:33888kB, "     \
  "anon-rss:32640kB, file-rss:652kB, shmem-rss:0kB, UID:0 pgtables:104kB oom_score_adj:0\n"

static struct kmsg_record
rec (const char *s)
{
  struct kmsg_record r;
  assert_int_equal (kmsg_record_parse (s, strlen (s), &r), 0);
  return r;
}

static void
record_fields (void **state)
{
  (void) state;
  struct kmsg_record r = rec (KILLED_V1);
  assert_int_equal (r.level, 3);
  assert_int_equal (r.seq, 502);
  assert_int_equal (r.ts_us, 359904413);
  assert_true (r.text_len > 0);
  assert_memory_equal (r.text, "Memory cgroup", 13);
  assert_int_equal (r.text[r.text_len - 1], '0'); /* newline not included */
}

static void
record_with_dictionary_and_prio_facility (void **state)
{
  (void) state;
  const char *s = "30,7,12,c,extra;hello world\n SUBSYSTEM=mem\n DEVICE=+x\n";
  struct kmsg_record r = rec (s);
  assert_int_equal (r.level, 6); /* 30 = facility 3, level 6 */
  assert_int_equal (r.text_len, strlen ("hello world"));
}

static void
record_malformed (void **state)
{
  (void) state;
  struct kmsg_record r;
  const char *bad[] = { "", "no semicolon", "x,1,2,-;t", "6,,2,-;t", "6,1,-;t", "6,1,2x;t", "6;t" };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    assert_int_equal (kmsg_record_parse (bad[i], strlen (bad[i]), &r), -1);
}

static void
summary_line (void **state)
{
  (void) state;
  struct kmsg_record r = rec (SUMMARY_V1);
  struct kmsg_oom_line o;
  assert_true (kmsg_parse_oom_line (r.text, r.text_len, &o));
  assert_int_equal (o.pid, 10856);
  assert_int_equal (o.memcg_len, strlen ("/memhook-w/t1"));
  assert_memory_equal (o.memcg, "/memhook-w/t1", o.memcg_len);
  assert_int_equal (o.task_len, 5);
  assert_memory_equal (o.task, "touch", 5);
}

static void
summary_line_with_commas_in_path_and_comm (void **state)
{
  (void) state;
  const char *t = "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,b,task_memcg=/a,b/c,task=x,y,pid=7,uid=1000";
  struct kmsg_oom_line o;
  assert_true (kmsg_parse_oom_line (t, strlen (t), &o));
  assert_int_equal (o.pid, 7);
  assert_int_equal (o.memcg_len, strlen ("/a,b/c"));
  assert_memory_equal (o.memcg, "/a,b/c", o.memcg_len);
  assert_memory_equal (o.task, "x,y", 3);
}

static void
summary_line_refused (void **state)
{
  (void) state;
  struct kmsg_oom_line o;
  const char *bad[] = {
    "Memory cgroup out of memory: Killed process 1 (x) total-vm:1kB",
    "oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=5,uid=0",          /* no task_memcg */
    "oom-kill:task_memcg=/a,task=x,pid=,uid=0",                         /* no pid */
    "oom-kill:task_memcg=/a,task=x,pid=12a,uid=0",                      /* junk after pid */
    "oom-kill:task_memcg=,task=x,pid=5,uid=0",                          /* empty path */
    "oom-kill:task_memcg=/a,task=x,pid=99999999999999999999999,uid=0", /* overflow */
  };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    assert_false (kmsg_parse_oom_line (bad[i], strlen (bad[i]), &o));
}

static void
killed_line (void **state)
{
  (void) state;
  struct kmsg_record r = rec (KILLED_V1);
  struct kmsg_killed_line k;
  assert_true (kmsg_parse_killed_line (r.text, r.text_len, &k));
  assert_int_equal (k.pid, 10856);
  assert_int_equal (k.comm_len, 5);
  assert_memory_equal (k.comm, "touch", 5);
  assert_int_equal (k.anon_rss, 32640LL * 1024);
  assert_int_equal (k.file_rss, 652LL * 1024);
  assert_int_equal (k.shmem_rss, 0);
}

static void
killed_line_odd_comm_and_missing_fields (void **state)
{
  (void) state;
  const char *t = "Memory cgroup out of memory: Killed process 42 (a) total-vm:x) total-vm:100kB, UID:0";
  struct kmsg_killed_line k;
  assert_true (kmsg_parse_killed_line (t, strlen (t), &k));
  assert_int_equal (k.pid, 42);
  assert_int_equal (k.comm_len, strlen ("a) total-vm:x"));
  assert_int_equal (k.anon_rss, -1);
  const char *bad[] = { "Killed process x (a) total-vm:1kB", "Killed process 5 a total-vm:1kB",
                        "Killed process 5 (abc", "something else" };
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    assert_false (kmsg_parse_killed_line (bad[i], strlen (bad[i]), &k));
}

static void
memcg_under (void **state)
{
  (void) state;
#define U(m, p) kmsg_memcg_under (m, strlen (m), p)
  assert_true (U ("/a/b", "/a/b"));
  assert_true (U ("/a/b/c", "/a/b"));
  assert_true (U ("/a/b", "/a/b/"));
  assert_false (U ("/a/bc", "/a/b"));
  assert_false (U ("/a", "/a/b"));
  assert_true (U ("/x", "/"));
#undef U
}

static void
match_summary_then_kill (void **state)
{
  (void) state;
  struct kmsg_match m = { .memcg = "/memhook-w/t1", .main_pid = 1 };
  struct kmsg_victim v;
  struct kmsg_record s = rec (SUMMARY_V1), k = rec (KILLED_V1);
  struct kmsg_record noise = rec ("4,500,359904000,-;Tasks state (memory values in pages):\n");

  assert_int_equal (kmsg_match_feed (&m, &s, &v), KMSG_NOTHING);
  assert_int_equal (kmsg_match_feed (&m, &noise, &v), KMSG_NOTHING);
  assert_int_equal (kmsg_match_feed (&m, &k, &v), KMSG_OURS);
  assert_int_equal (v.pid, 10856);
  assert_string_equal (v.comm, "touch");
  assert_int_equal (v.anon_rss, 32640LL * 1024);
  assert_int_equal (v.ts_us, 359904413);
  assert_true (v.by_memcg);
  /* The summary is used once. */
  assert_int_equal (kmsg_match_feed (&m, &k, &v), KMSG_UNATTRIBUTED);
}

static void
match_other_cgroup (void **state)
{
  (void) state;
  struct kmsg_match m = { .memcg = "/memhook-w/t", .main_pid = 1 };
  struct kmsg_victim v;
  struct kmsg_record s = rec (SUMMARY_V1), k = rec (KILLED_V1);

  /* "/memhook-w/t1" is not under "/memhook-w/t". */
  assert_int_equal (kmsg_match_feed (&m, &s, &v), KMSG_NOTHING);
  assert_int_equal (kmsg_match_feed (&m, &k, &v), KMSG_OTHER);
}

static void
match_main_pid_without_summary (void **state)
{
  (void) state;
  /* Rate-limited summary: only the kill line; our main pid is enough. */
  struct kmsg_match m = { .memcg = "/elsewhere", .main_pid = 10856 };
  struct kmsg_victim v;
  struct kmsg_record k = rec (KILLED_V1);

  assert_int_equal (kmsg_match_feed (&m, &k, &v), KMSG_OURS);
  assert_false (v.by_memcg);
  m.main_pid = 5;
  assert_int_equal (kmsg_match_feed (&m, &k, &v), KMSG_UNATTRIBUTED);
  assert_int_equal (v.pid, 10856);
}

static void
match_long_comm_truncated (void **state)
{
  (void) state;
  char line[512];
  char comm[200];
  memset (comm, 'c', sizeof (comm) - 1);
  comm[sizeof (comm) - 1] = '\0';
  snprintf (line, sizeof (line), "3,1,1,-;Killed process 9 (%s) total-vm:1kB, anon-rss:2kB, file-rss:0kB\n", comm);
  struct kmsg_match m = { .memcg = "/a", .main_pid = 9 };
  struct kmsg_victim v;
  struct kmsg_record r = rec (line);
  assert_int_equal (kmsg_match_feed (&m, &r, &v), KMSG_OURS);
  assert_int_equal (strlen (v.comm), KMSG_COMM_MAX - 1);
  assert_int_equal (v.anon_rss, 2048);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (record_fields),
    cmocka_unit_test (record_with_dictionary_and_prio_facility),
    cmocka_unit_test (record_malformed),
    cmocka_unit_test (summary_line),
    cmocka_unit_test (summary_line_with_commas_in_path_and_comm),
    cmocka_unit_test (summary_line_refused),
    cmocka_unit_test (killed_line),
    cmocka_unit_test (killed_line_odd_comm_and_missing_fields),
    cmocka_unit_test (memcg_under),
    cmocka_unit_test (match_summary_then_kill),
    cmocka_unit_test (match_other_cgroup),
    cmocka_unit_test (match_main_pid_without_summary),
    cmocka_unit_test (match_long_comm_truncated),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

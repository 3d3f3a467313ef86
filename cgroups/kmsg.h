/* The kernel's own account of an OOM kill, read from /dev/kmsg.
 *
 * The kernel prints, for each kill (REFERENCE.md, "OOM evidence"):
 *   oom-kill:constraint=CONSTRAINT_MEMCG,…,oom_memcg=/X,task_memcg=/X/Y,task=NAME,pid=N,uid=U
 *   Memory cgroup out of memory: Killed process N (NAME) total-vm:…kB, anon-rss:…kB, …
 * The first line belongs to dump_header(), which the kernel rate-limits
 * (10 per 5 s): under a burst of kills only the "Killed process" line is
 * certain.  So a victim is ours when the summary names our cgroup, or
 * when the kill line names our main pid; anything else is left to the
 * caller (who may still find the pid in our cgroup through /proc).
 *
 * Parsing is pure (tested in tests/unit/test_kmsg.c); the reader keeps
 * the position of an fd opened at the watcher's start. */
#ifndef MEMHOOK_KMSG_H
#define MEMHOOK_KMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* One record as read(2) returns it: "prio,seq,usec,flags;text\n[ KEY=VAL\n]…". */
struct kmsg_record
{
  int level;       /* syslog level (prio & 7) */
  uint64_t seq;
  uint64_t ts_us;  /* the kernel's monotonic clock (local_clock), µs */
  const char *text; /* first line of the message, not NUL-terminated */
  size_t text_len;
};

/* "oom-kill:…,task_memcg=/X,task=NAME,pid=N,uid=U" */
struct kmsg_oom_line
{
  const char *memcg; /* task_memcg, relative to the controller's root */
  size_t memcg_len;
  const char *task;
  size_t task_len;
  pid_t pid;
};

/* "…: Killed process N (NAME) total-vm:AkB, anon-rss:BkB, file-rss:CkB, shmem-rss:DkB, …" */
struct kmsg_killed_line
{
  pid_t pid;
  const char *comm;
  size_t comm_len;
  int64_t anon_rss; /* bytes; -1 when the line has none */
  int64_t file_rss;
  int64_t shmem_rss;
};

/* Returns 0, or -1 when buf is not a kmsg record. */
int kmsg_record_parse (const char *buf, size_t len, struct kmsg_record *out);
bool kmsg_parse_oom_line (const char *text, size_t len, struct kmsg_oom_line *out);
bool kmsg_parse_killed_line (const char *text, size_t len, struct kmsg_killed_line *out);
/* memcg is path or below it ("/a/b" is under "/a", "/ab" is not). */
bool kmsg_memcg_under (const char *memcg, size_t memcg_len, const char *path);

#define KMSG_COMM_MAX 64

struct kmsg_victim
{
  pid_t pid;
  char comm[KMSG_COMM_MAX]; /* as the kernel printed it (non-printables escaped \xNN) */
  int64_t anon_rss;         /* bytes, -1 unknown */
  uint64_t ts_us;           /* timestamp of the kill line */
  bool by_memcg;            /* the summary named our cgroup */
};

/* Pairs summaries with kill lines for one cgroup and one main pid. */
struct kmsg_match
{
  const char *memcg; /* our cgroup, relative to the controller's root */
  pid_t main_pid;
  pid_t pending_pid; /* from our last summary line, 0 = none */
};

enum kmsg_feed_result
{
  KMSG_NOTHING,      /* not a kill line, or a summary line (kept pending) */
  KMSG_OURS,         /* *victim is ours (summary named our cgroup or the pid is main) */
  KMSG_UNATTRIBUTED, /* a kill line without a summary: *victim filled, ownership unknown */
  KMSG_OTHER,        /* a kill line another cgroup's summary announced */
};

enum kmsg_feed_result kmsg_match_feed (struct kmsg_match *m, const struct kmsg_record *r, struct kmsg_victim *victim);

/* /dev/kmsg positioned at its end: history is not ours to read. */
int kmsg_open_at_end (int *fd, mh_error_t *err);
/* One record into buf: 1 read, 0 nothing more now (EAGAIN), -1 error.
 * Records the kernel overwrote before we read them (EPIPE) are skipped and
 * *lost is set: the log read is no longer complete. */
int kmsg_read (int fd, char *buf, size_t size, struct kmsg_record *out, bool *lost, mh_error_t *err);

#endif

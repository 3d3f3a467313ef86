/* The OOM watcher: one small detached process per container, started by
 * the createRuntime/prestart stage.  Event-driven (v1 eventfd on
 * memory.oom_control, v2 inotify on memory.events/cgroup.events, a pidfd
 * on the main process); reads /dev/kmsg only when oom_kill rises. */
#ifndef MEMHOOK_WATCH_H
#define MEMHOOK_WATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "oom.h"
#include "plan.h"

struct watch_params
{
  const char *state_dir;   /* resolved --state-dir */
  const char *id;          /* checked container id */
  enum cg_version version;
  const char *memcg;       /* the cgroup as /proc/<pid>/cgroup and the kernel's log name it */
  int cgroup_dirfd;        /* open O_PATH|O_DIRECTORY fd of it */
  pid_t main_pid;          /* the container's init as the runtime reported it */
  int64_t limit;           /* effective limit in bytes, -1 unlimited */
  struct cg_oom_counters baseline;
  const struct oci_kv_list *annotations;
  const char *metrics_dir; /* NULL = none */
  const char *grow;        /* io.memhook.oom.grow as the container gave it; NULL = none */
  bool exit_by_runtime;    /* memhook-runtime run ends the run, not the watcher */
};

/* The watcher's fds, opened by the hook before the container runs; a slot
 * left closed means "not there" (no /dev/kmsg, no v1 eventfd on v2, a main
 * process already gone). */
#define WATCH_FD_CGROUP 3
#define WATCH_FD_KMSG 4
#define WATCH_FD_NOTIFY 5
#define WATCH_FD_OOM_CONTROL 6
#define WATCH_FD_PIDFD 7

/* Opens what the watcher must hold from the start and starts it detached
 * (own session, stdio on /dev/null) without waiting for it; *watcher_pid
 * for the record. */
int watch_spawn (const struct watch_params *p, pid_t *watcher_pid, mh_error_t *err);

/* ---- added by the watcher's implementation ---- */

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "kmsg.h"

/* <state-dir>/<id>/watch.json: what the watcher saw, rewritten atomically
 * after each change; "ended_cleanly" only once it saw the end. */
#define WATCH_FILE "watch.json"
/* The watcher's name in /proc/<pid>/comm (exec'd binary or __watch). */
#define WATCH_BINARY "memhook-watch"
#define WATCH_VICTIMS_MAX 16

struct watch_victim
{
  pid_t pid;                /* host pid, as the kernel names it; 0 = not named */
  char comm[KMSG_COMM_MAX];
  int64_t anon_rss;         /* bytes, -1 unknown */
  bool main;                /* the container's main process */
  char time[40];
};

struct watch_report
{
  pid_t watcher_pid;
  uint64_t watcher_start;   /* start time (clock ticks after boot, /proc/<pid>/stat field 22) */
  pid_t main_pid;
  char started[40];
  char ended[40];
  bool kmsg;                /* /dev/kmsg could be read */
  bool kmsg_complete;       /* …and no record was lost before it was read: a kill
                             * of the main process cannot have gone unseen */
  int64_t oom_kills;        /* kills seen in this run */
  int64_t unattributed;     /* of which the kernel's report named no victim we could place */
  bool main_oom_killed;
  bool main_exited;
  bool cgroup_removed;
  bool ended_cleanly;
  size_t n_victims;         /* the last WATCH_VICTIMS_MAX */
  struct watch_victim victims[WATCH_VICTIMS_MAX];
};

struct json *watch_report_to_json (const struct watch_report *r);
int watch_report_from_json (const struct json *j, struct watch_report *out, mh_error_t *err);
int watch_report_store (int container_dirfd, const struct watch_report *r, mh_error_t *err);
/* *found = false (and 0) when there is no watch.json. */
int watch_report_load (int container_dirfd, struct watch_report *out, bool *found, mh_error_t *err);
void watch_report_add_victim (struct watch_report *r, const struct watch_victim *v);

/* Is pid a live (not zombie) process started at start_ticks?  start_ticks
 * 0 = any start time. */
bool watch_process_alive (pid_t pid, uint64_t start_ticks);
/* Start time of a process (field 22 of /proc/<pid>/stat); 0 when gone. */
uint64_t watch_process_start (pid_t pid);

/* The watcher itself (memhook-watch, or memhook __watch): argv as
 * watch_spawn builds it, fds as WATCH_FD_*.  Returns the process exit
 * status. */
int watch_main (int argc, char **argv);

#endif

/* The verdict channel: how the watcher outside tells memhook-init that its
 * child was OOM-killed.  From inside, an OOM kill and `kill -9` look the
 * same (SIGKILL); the kernel names the victim by host pid, which the watcher
 * turns into the pid inside the container (NSpid).
 *
 * The wrapper bind-mounts a directory read-only and passes --verdict-dir.
 * The watcher appends to the file ANSWER_FILE in it one line per OOM kill of
 * a process it can see in the container's pid namespace:
 *
 *     oom_kill <pid inside the container>\n
 *
 * in a single write().  memhook-init treats the file as untrusted: a regular
 * file only, never followed through a symlink, read in bounded chunks, lines
 * of the exact form above only (anything else is skipped), and only lines
 * appended after the current child was started count, so an old answer for
 * a reused pid cannot make a later kill look like an OOM kill.  A missing
 * answer means "not OOM-killed": memhook-init never guesses. */
#ifndef MEMHOOK_INIT_ANSWER_H
#define MEMHOOK_INIT_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define ANSWER_FILE "oom_kills"
/* The most of the file read per look: far more than an OOM storm writes. */
#define ANSWER_READ_MAX (1024 * 1024)

struct answer_channel
{
  int dirfd;       /* -1 when no channel */
  int inotify_fd;  /* -1 when inotify is unavailable: poll instead */
  dev_t dev;       /* the file as it was at answer_mark() */
  ino_t ino;
  off_t offset;
};

/* Open DIR (read-only use) and watch it.  Returns -1 with errno set when DIR
 * cannot be opened; a failed inotify only costs latency. */
int answer_open (struct answer_channel *ch, const char *dir);
void answer_close (struct answer_channel *ch);

/* Just before a child starts: everything in the file now is history. */
void answer_mark (struct answer_channel *ch);

/* Was `pid` reported OOM-killed since the mark? */
bool answer_oom_killed (struct answer_channel *ch, pid_t pid);

/* Empty the inotify queue after poll() said it is readable. */
void answer_drain (struct answer_channel *ch);

/* The parser alone, for the bytes of the file after the mark: true when a
 * complete line names `pid`.  Exposed for tests. */
bool answer_scan (const char *buf, size_t len, pid_t pid);

#endif

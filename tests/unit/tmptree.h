/* A throw-away directory for the unit tests that need real files: a
 * fake cgroup tree, a state dir, a log dir. Files are reached relative
 * to the dir fd, the way memhook itself reaches cgroup files.
 *
 * Include after <cmocka.h>. Everything here is static inline so a test
 * that uses only part of it still builds warning-free. */
#ifndef MEMHOOK_TESTS_TMPTREE_H
#define MEMHOOK_TESTS_TMPTREE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"

struct tree
{
  char root[64];
  int fd;
};

static inline int
tree_rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (path);
}

/* Make /tmp/memhook-test-<prefix>-XXXXXX in root (at least 64 bytes);
 * NULL when the name does not fit or mkdtemp fails. */
static inline char *
tree_mkdtemp (char *root, size_t size, const char *prefix)
{
  int n = snprintf (root, size, "/tmp/memhook-test-%s-XXXXXX", prefix);
  if (n < 0 || (size_t) n >= size)
    return NULL;
  return mkdtemp (root);
}

/* Remove the dir and everything under it, not following symlinks. */
static inline void
tree_remove (const char *root)
{
  nftw (root, tree_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* cmocka setup: *state becomes a struct tree on a fresh dir. */
static inline int
tree_setup (void **state, const char *prefix)
{
  struct tree *t = calloc (1, sizeof (*t));
  if (t == NULL)
    return -1;
  *state = t;
  t->fd = -1;
  if (tree_mkdtemp (t->root, sizeof (t->root), prefix) == NULL)
    return -1;
  t->fd = open (t->root, O_RDONLY | O_DIRECTORY);
  return t->fd < 0 ? -1 : 0;
}

static inline int
tree_teardown (void **state)
{
  struct tree *t = *state;
  if (t == NULL)
    return 0;
  if (t->fd >= 0)
    close (t->fd);
  tree_remove (t->root);
  free (t);
  return 0;
}

/* Write content to name (created or truncated, 0644). */
static inline void
tree_put (struct tree *t, const char *name, const char *content)
{
  int fd = openat (t->fd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
}

/* The file's whole content (at most max bytes), or the test fails.
 * Not inlined: gcc's -Wdangling-pointer then mistakes the returned
 * buffer for the local that held it. */
__attribute__ ((noinline, unused)) static char *
tree_read (struct tree *t, const char *name, size_t max, size_t *len)
{
  mh_error_t err = NULL;
  char *out = NULL;
  if (read_file_at (t->fd, name, max, &out, len, &err) < 0)
    fail_msg ("read %s: %s", name, err->msg);
  return out;
}

static inline char *
tree_get (struct tree *t, const char *name)
{
  return tree_read (t, name, 4096, NULL);
}

/* The file holds exactly want (newline included or not). */
static inline void
tree_assert_file (struct tree *t, const char *name, const char *want)
{
  cleanup_free char *have = tree_get (t, name);
  if (strcmp (have, want) != 0)
    fail_msg ("%s holds \"%s\", expected \"%s\"", name, have, want);
}

#endif
